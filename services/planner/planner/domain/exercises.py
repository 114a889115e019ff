"""What the rules need to know about each catalogue exercise: its block, ladder and risks.

A ladder is the list of variations of one exercise, easiest first (the "variation level" is an
index into it). An exercise that takes external load takes it at its last variation, as a step of
its own (D17): the variation stays, only the weight is new.
"""

from dataclasses import dataclass

from planner.domain import rules_table as t

BLOCKS: tuple[str, ...] = (
    "warmup",
    "stretching",
    "strength",
    "core",
    "cardio",
    "cooldown",
    "recovery",
)

# The kinds a workout entry names, and the block each fills.
KIND_BLOCK: dict[str, str] = {
    "warmup": "warmup",
    "stretch": "stretching",
    "strength": "strength",
    "core": "core",
    "cardio": "cardio",
    "cooldown": "cooldown",
}
BLOCK_KIND: dict[str, str] = {block: kind for kind, block in KIND_BLOCK.items()}


@dataclass(frozen=True)
class Variation:
    name: str


@dataclass(frozen=True)
class Exercise:
    slug: str
    block: str
    ladder: tuple[Variation, ...]
    measure: str  # "hold" | "reps" | "minutes" | "interval": which dose field the ladder climbs
    high_impact: bool = False
    loaded_twist: bool = False
    running: bool = False
    first_load_kg: float | None = None  # D17: external load starts here, at the last variation
    loaded_form: str | None = None  # the last variation's name once it carries a weight

    def form(self, level: int, load_kg: float | None) -> str:
        """The name of the variation a dose is done in (with its weight, when it has one)."""
        if load_kg and self.loaded_form is not None:
            return self.loaded_form
        return self.ladder[level].name


def _v(*names: str) -> tuple[Variation, ...]:
    return tuple(Variation(n) for n in names)


# P1: the seed's four dimensions, in its order: duration, body position, resistance, range.
_STRETCH_LADDER = _v(
    "basic position",
    "another body position (one hand pulling, a wall for support, or lying down)",
    "with gentle resistance (push against a wall, hands, or an elastic band)",
    "a larger range of movement, within what is comfortable",
)

EXERCISES: dict[str, Exercise] = {
    e.slug: e
    for e in (
        Exercise("sitting_spinal_rotation", "stretching", _STRETCH_LADDER, "hold"),
        Exercise("seated_hamstring_stretch", "stretching", _STRETCH_LADDER, "hold"),
        Exercise("seated_quadriceps_stretch", "stretching", _STRETCH_LADDER, "hold"),
        Exercise("standing_side_bend", "stretching", _STRETCH_LADDER, "hold"),
        Exercise("cat_cow", "stretching", _STRETCH_LADDER, "hold"),
        Exercise("cobra", "stretching", _STRETCH_LADDER, "hold"),
        Exercise(
            "plank",
            "core",
            _v("plank from the knees", "full plank", "plank lifting one foot"),
            "hold",
        ),
        Exercise(
            "superman",
            "core",
            _v(
                "superman, arms only then legs only",
                "full superman",
                "superman with a 3-second hold",
            ),
            "reps",
        ),
        Exercise(
            "bicycle_crunch",
            "core",
            _v("slow bicycle crunch", "bicycle crunch"),
            "reps",
            loaded_twist=True,
        ),
        Exercise(
            "ball_squeeze",
            "strength",
            _v("ball squeeze between the knees", "ball squeeze with a 5-second hold"),
            "reps",
        ),
        Exercise(
            "side_lying_hip_abduction",
            "strength",
            _v("side-lying hip abduction", "side-lying hip abduction with a band"),
            "reps",
        ),
        Exercise(
            "squat",
            "strength",
            _v("sit-to-stand from a chair", "body-weight squat"),
            "reps",
            first_load_kg=t.P2_FIRST_LOAD_KG,
            loaded_form="squat holding a light weight",
        ),
        Exercise(
            "calf_raise",
            "strength",
            _v("body-weight calf raise"),
            "reps",
            first_load_kg=t.P2_FIRST_LOAD_KG,
            loaded_form="calf raise holding a light weight",
        ),
        Exercise(
            "lunge",
            "strength",
            _v("supported split squat", "body-weight lunge"),
            "reps",
            first_load_kg=t.P2_FIRST_LOAD_KG,
            loaded_form="lunge holding a light weight",
        ),
        Exercise(
            "chest_press",
            "strength",
            _v("chest press with a light band", "chest press with a firmer band"),
            "reps",
            first_load_kg=t.P2_FIRST_LOAD_KG,
            loaded_form="chest press with light dumbbells",
        ),
        Exercise("walking", "cardio", _v("walking"), "minutes"),
        Exercise("swimming", "cardio", _v("easy swimming"), "minutes"),
        Exercise("steady_run", "cardio", _v("easy steady running"), "minutes", running=True),
        Exercise("intervals", "cardio", _v("low-intensity intervals"), "interval", running=True),
        Exercise(
            "hill_sprints", "cardio", _v("hill sprints"), "interval", high_impact=True, running=True
        ),
        Exercise("plyometrics", "strength", _v("low plyometric hops"), "reps", high_impact=True),
    )
}

# S1: where every routine starts. Stretches and core without loaded twisting, strength with body
# weight, a ball or a band, low-impact cardio. Lunges, bicycle crunches, running come later.
STARTING_STRETCHES: tuple[str, ...] = (
    "sitting_spinal_rotation",  # D1: a gentle, unloaded rotation stays
    "seated_hamstring_stretch",
    "seated_quadriceps_stretch",
    "standing_side_bend",
    "cat_cow",
    "cobra",
)
STARTING_CORE: tuple[str, ...] = ("plank", "superman")
STARTING_STRENGTH: tuple[str, ...] = (
    "ball_squeeze",
    "side_lying_hip_abduction",
    "squat",
    "calf_raise",
    "chest_press",
)
STARTING_CARDIO: tuple[str, ...] = ("walking",)
WARMUP_EXERCISE = "walking"  # "walk or jog on the spot or do dynamic stretches"
COOLDOWN_EXERCISE = "seated_hamstring_stretch"  # "light stretches such as hamstring"

FORM_CUES: dict[str, tuple[str, ...]] = {
    "stretching": (
        "Breathe deeply from your abdomen.",
        "Stay within what is comfortable, no sharp pain.",
    ),
    "strength": (
        "Exhale while lifting, inhale on the way back.",
        "Keep minimal pressure on your lower back.",
    ),
    "core": (
        "Engage your abdominal muscles.",
        "Move through the range comfortably before adding sets.",
    ),
    "cardio": ("Head up, eyes forward, shoulders relaxed.",),
    "warmup": ("Walk or march on the spot, arm circles, shoulder shrugs.",),
    "cooldown": ("Light stretches: hamstrings and shoulders.",),
}

# B2: cauda equina signs are an emergency; the rest are urgent. Codes as in the shared catalogue.
RED_FLAG_TIERS: dict[str, str] = {
    "saddle_numbness": "emergency",
    "bladder_bowel_change": "emergency",
    "progressive_leg_weakness": "emergency",
    "fever": "urgent",
    "major_trauma": "urgent",
    "unexplained_weight_loss": "urgent",
}
