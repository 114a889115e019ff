"""What DOMAIN.md says about doses, computed independently of the planner's own ladder code.

The simulator must not prove the rules with the rules: the step arithmetic here is written
from DOMAIN.md's words (P1-P4, D11, D18, D20), with the catalogue (ladder lengths, first loads)
read from the planner because it is data, not a rule.
"""

from fractions import Fraction
from math import floor
from typing import Any

from planner.domain.exercises import EXERCISES
from planner.domain.routine import Dose, Prescription, Routine

SECONDS_PER_REP = 3  # D11: "sets x reps at ~3 s a rep"
REST_BETWEEN_SETS_S = 60  # D11: "60 s rest between sets"
DEFAULT_BUDGET_MIN = 60  # D11
WEEKLY_CARDIO_CAP_MIN = 150  # D20: the WHO adult minimum
HOLD_CAP_S = 60  # P1, P3
STRENGTH_REPS = (8, 12)  # P2
CORE_REPS = (8, 15)  # P3
MAX_SETS = 3  # P2, P3 (the rules table's default)
LOAD_STEP_KG = Fraction(1, 2)  # P2 equipment step
INTERVAL_HARD_CAP_MIN = 3.0  # D18
SPRINT_HARD_CAP_MIN = 0.5  # D18: 30 s
SPRINT_ROUNDS_CAP = 8  # D18

PROGRESSED_BLOCKS = ("stretching", "strength", "core", "cardio")  # S3 doses are fixed
FULL_DAY_BLOCKS = ("warmup", "stretching", "strength", "core", "cardio", "cooldown")
LIGHT_DAY_BLOCKS = ("warmup", "stretching", "cardio", "cooldown")


def frac(value: float) -> Fraction:
    return Fraction(str(value))


def raised_load(load_kg: float) -> Fraction:
    """P2: the largest equipment step not above +10 %."""
    top = frac(load_kg) * Fraction(11, 10)
    return floor(top / LOAD_STEP_KG) * LOAD_STEP_KG


def minutes_of(dose: Dose) -> float:
    if dose.interval is not None:
        iv = dose.interval
        return (iv.hard_min + iv.easy_min) * iv.rounds
    return float(dose.duration_min or 0.0)


def exercise_seconds(rx: Prescription) -> float:
    """D11's estimate of one prescription: work, then 60 s rest between sets; cardio minutes."""
    dose = rx.dose
    if rx.block in ("cardio", "warmup", "cooldown") or dose.duration_min is not None:
        return minutes_of(dose) * 60
    sets = dose.sets or 1
    work = dose.hold_s if dose.hold_s is not None else (dose.reps or 0) * SECONDS_PER_REP
    return sets * work + (sets - 1) * REST_BETWEEN_SETS_S


def session_minutes(prescriptions: list[Prescription]) -> float:
    return sum(exercise_seconds(rx) for rx in prescriptions) / 60


def weekly_cardio_minutes(routine: Routine) -> float:
    return sum(
        minutes_of(rx.dose) * (rx.dose.sessions_per_week or 0)
        for b in routine.blocks
        if b.block == "cardio"
        for rx in b.prescriptions
    )


def maintenance_of(rx: Prescription) -> Any:
    """D20's `maintenance` mark, read defensively: rules without D20 have no such field."""
    return getattr(rx, "maintenance", None)


def has_way_up(rx: Prescription, weekly_cardio: float) -> bool:
    """Is there a next step from this dose by DOMAIN.md's ladders (P1-P4, D18, D20)?"""
    dose = rx.dose
    ex = EXERCISES.get(rx.exercise)
    next_variation = ex is not None and rx.variation_level + 1 < len(ex.ladder)
    if rx.block == "stretching" or (rx.block == "core" and dose.hold_s is not None):
        return (dose.hold_s or 0) < HOLD_CAP_S or next_variation
    if rx.block == "core":
        reps = dose.reps or CORE_REPS[0]
        return reps < CORE_REPS[1] or (dose.sets or 1) < MAX_SETS or next_variation
    if rx.block == "strength":
        reps = dose.reps or STRENGTH_REPS[0]
        if reps < STRENGTH_REPS[1]:
            return True
        load = dose.load_kg or 0.0
        if load > 0 and raised_load(load) > frac(load):
            return True
        if load == 0 and not next_variation and getattr(ex, "first_load_kg", None):
            return True  # D17: the first external load is a step of its own at the last form
        return next_variation or (dose.sets or 1) < MAX_SETS
    if rx.block == "cardio":
        if weekly_cardio >= WEEKLY_CARDIO_CAP_MIN:
            return False
        iv = dose.interval
        if iv is None:
            return True
        if rx.exercise == "hill_sprints":
            return iv.rounds < SPRINT_ROUNDS_CAP
        return iv.hard_min < INTERVAL_HARD_CAP_MIN
    return True


def changed_dimensions(
    before: Dose, after: Dose, level_before: int, level_after: int
) -> tuple[list[str], list[str]]:
    """The dimensions a change raised and lowered. Resets that go with a step (reps back to 8
    with more load, a set more or a new form; hold back to 30 s with a new form) are not counted
    as a second dimension."""
    up: list[str] = []
    down: list[str] = []

    def compare(name: str, b: float | None, a: float | None) -> None:
        b0, a0 = b or 0.0, a or 0.0
        if a0 > b0 + 1e-9:
            up.append(name)
        elif a0 < b0 - 1e-9:
            down.append(name)

    compare("variation", level_before, level_after)
    compare("load_kg", before.load_kg, after.load_kg)
    compare("sets", before.sets, after.sets)
    compare("duration_min", before.duration_min, after.duration_min)
    if before.interval is not None and after.interval is not None:
        compare("interval_hard_min", before.interval.hard_min, after.interval.hard_min)
        compare("interval_rounds", before.interval.rounds, after.interval.rounds)
    # The unloaded form and its first load are one dimension going down (DOMAIN.md: "below it
    # the exercise goes back to its unloaded form"); going up, D17 is checked on its own.
    if "variation" in down and "load_kg" in down and not after.load_kg:
        down.remove("load_kg")
    if "variation" in up and "load_kg" in up and not before.load_kg:
        up.remove("load_kg")
    resetting = bool(up) and not down
    if not (resetting and (after.reps or 0) < (before.reps or 0)):
        compare("reps", before.reps, after.reps)
    if not ("variation" in up and (after.hold_s or 0) < (before.hold_s or 0)):
        compare("hold_s", before.hold_s, after.hold_s)
    return up, down
