"""The closed vocabularies the contracts validate against (DESIGN.md, DOMAIN.md)."""

EXERCISES: tuple[str, ...] = (
    "sitting_spinal_rotation",
    "seated_hamstring_stretch",
    "seated_quadriceps_stretch",
    "standing_side_bend",
    "cat_cow",
    "cobra",
    "bicycle_crunch",
    "plank",
    "superman",
    "squat",
    "calf_raise",
    "lunge",
    "chest_press",
    "side_lying_hip_abduction",
    "ball_squeeze",
    "walking",
    "steady_run",
    "intervals",
    "swimming",
    "hill_sprints",
    "plyometrics",
)

EXERCISE_KINDS: tuple[str, ...] = ("stretch", "strength", "core", "cardio", "warmup", "cooldown")

PAIN_TIMINGS: tuple[str, ...] = ("during", "after", "24h_after", "next_morning", "rest")

# Emergency tier first (cauda equina signs), then the urgent tier.
RED_FLAGS_EMERGENCY: tuple[str, ...] = (
    "saddle_numbness",
    "bladder_bowel_change",
    "progressive_leg_weakness",
)
RED_FLAGS_URGENT: tuple[str, ...] = ("fever", "major_trauma", "unexplained_weight_loss")
RED_FLAGS: tuple[str, ...] = RED_FLAGS_EMERGENCY + RED_FLAGS_URGENT

SOURCE_KINDS: tuple[str, ...] = ("app", "wearable", "clinician", "system")
# "system": an event a service wrote itself (user.erased); a client may not send it.
SYSTEM_SOURCE_KIND = "system"

FLEXIBILITY_LEVELS: tuple[str, ...] = ("poor", "fair", "good")

GOAL_METRICS: tuple[str, ...] = (
    "weekly_minutes",
    "sessions_per_week",
    "walk_min",
    "plank_s",
    "hold_s",
    "new_exercise",
)
GOAL_PERIODS: tuple[str, ...] = ("week", "month")

RECOVERY_KINDS: tuple[str, ...] = (
    "rest_day",
    "light_walk",
    "foam_rolling",
    "massage",
    "cold",
    "heat",
)

# baseline.assessed.access: what a person can train with (D19: a pool offers swimming).
ACCESS: tuple[str, ...] = ("pool", "gym", "home", "outdoors")

CLEARANCE_SCOPES: tuple[str, ...] = ("high_impact", "running", "core", "loaded_twisting")
