"""The closed vocabularies the contracts validate against (DESIGN.md, DOMAIN.md)."""

# What each exercise is (the planner's blocks agree: tests/unit/test_contracts.py checks it).
EXERCISE_KIND: dict[str, str] = {
    "sitting_spinal_rotation": "stretch",
    "seated_hamstring_stretch": "stretch",
    "seated_quadriceps_stretch": "stretch",
    "standing_side_bend": "stretch",
    "cat_cow": "stretch",
    "cobra": "stretch",
    "bicycle_crunch": "core",
    "plank": "core",
    "superman": "core",
    "squat": "strength",
    "calf_raise": "strength",
    "lunge": "strength",
    "chest_press": "strength",
    "side_lying_hip_abduction": "strength",
    "ball_squeeze": "strength",
    "walking": "cardio",
    "steady_run": "cardio",
    "intervals": "cardio",
    "swimming": "cardio",
    "hill_sprints": "cardio",
    "plyometrics": "strength",
}

EXERCISES: tuple[str, ...] = tuple(EXERCISE_KIND)

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

# `red_flag_reviewed` (rules 2026.12-1): a clinician has seen the red flag; only it ends a pause.
# A new value widens what version 1 accepts and every stored payload stays valid: no new version.
CLEARANCE_SCOPES: tuple[str, ...] = (
    "high_impact",
    "running",
    "core",
    "loaded_twisting",
    "red_flag_reviewed",
)

# baseline.assessed.access: what a person can train with (D19: a pool offers swimming).
ACCESS: tuple[str, ...] = ("pool", "gym", "home", "outdoors")

# Gentle work may open or close a session as well: a walk warms up, a stretch cools down.
WARMUP_COOLDOWN_KINDS: tuple[str, ...] = ("warmup", "cooldown")
GENTLE_EXERCISES: frozenset[str] = frozenset(
    {slug for slug, kind in EXERCISE_KIND.items() if kind == "stretch"} | {"walking", "swimming"}
)


def kinds_of(exercise: str) -> tuple[str, ...]:
    """The kinds a workout entry of `exercise` may name."""
    kind = EXERCISE_KIND[exercise]
    return (kind, *WARMUP_COOLDOWN_KINDS) if exercise in GENTLE_EXERCISES else (kind,)
