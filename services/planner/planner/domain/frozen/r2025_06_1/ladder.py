"""One step up (P1-P4) or one step down (D4) an exercise's ladder: a single dimension at a time.

Arithmetic on loads and minutes is done in exact fractions so that "at most 10 %" holds exactly,
never approximately.
"""

from dataclasses import dataclass, replace
from fractions import Fraction
from math import floor

from planner.domain.frozen.r2025_06_1 import rules_table as t
from planner.domain.frozen.r2025_06_1.exercises import Exercise
from planner.domain.frozen.r2025_06_1.routine import Dose, Interval


@dataclass(frozen=True)
class Step:
    rule: str
    dose: Dose
    level: int
    reason: str


def _floor_to(value: Fraction, step: float) -> float:
    unit = Fraction(str(step))
    return float(floor(value / unit) * unit)


def _pct(value: float, pct: int) -> Fraction:
    return Fraction(str(value)) * (100 + pct) / 100


def raised_load(load_kg: float) -> float:
    """P2: the largest equipment step not above +10 %; equal to `load_kg` when no step fits."""
    return max(load_kg, _floor_to(_pct(load_kg, t.P2_LOAD_STEP_PCT), t.P2_EQUIPMENT_STEP_KG))


def raised_minutes(minutes: float) -> float:
    """P4: weekly minutes grow by at most 10 %: with fixed sessions, so does each session."""
    return max(minutes, _floor_to(_pct(minutes, t.P4_WEEKLY_STEP_PCT), t.P4_MINUTE_STEP))


def step_up(ex: Exercise, dose: Dose, level: int) -> Step | None:
    """The next single step for this exercise, or None at the top of its ladder."""
    if ex.block == "stretching":
        return _p1_stretch(ex, dose, level)
    if ex.block == "core":
        return _p3_core(ex, dose, level)
    if ex.block == "strength":
        return _p2_strength(ex, dose, level)
    if ex.block == "cardio":
        return _p4_cardio(ex, dose, level)
    return None  # warm-up and cool-down keep their S3 doses


def _next_variation(ex: Exercise, level: int) -> int | None:
    return level + 1 if level + 1 < len(ex.ladder) else None


def _p1_stretch(ex: Exercise, dose: Dose, level: int) -> Step | None:
    hold = dose.hold_s or t.P1_HOLD_START_S
    if hold + t.P1_HOLD_STEP_S <= t.P1_HOLD_CAP_S:
        return Step(
            "P1",
            replace(dose, hold_s=hold + t.P1_HOLD_STEP_S),
            level,
            f"You held it well for two sessions, so hold {ex_name(ex)} {t.P1_HOLD_STEP_S} s longer.",
        )
    nxt = _next_variation(ex, level)
    if nxt is None:
        return None
    return Step(
        "P1",
        replace(dose, hold_s=t.P1_HOLD_START_S),
        nxt,
        f"You reached {t.P1_HOLD_CAP_S} s, so try the next form: {ex.ladder[nxt].name}, "
        f"back at {t.P1_HOLD_START_S} s.",
    )


def _p3_core(ex: Exercise, dose: Dose, level: int) -> Step | None:
    if ex.measure == "hold":
        hold = dose.hold_s or t.P3_PLANK_START_S
        if hold + t.P3_PLANK_STEP_S <= t.P3_PLANK_CAP_S:
            return Step(
                "P3",
                replace(dose, hold_s=hold + t.P3_PLANK_STEP_S),
                level,
                f"Two good sessions: hold the {ex_name(ex)} {t.P3_PLANK_STEP_S} s longer.",
            )
        nxt = _next_variation(ex, level)
        if nxt is None:
            return None
        return Step(
            "P3",
            replace(dose, hold_s=t.P3_PLANK_START_S),
            nxt,
            f"You reached {t.P3_PLANK_CAP_S} s: move on to {ex.ladder[nxt].name}, "
            f"back at {t.P3_PLANK_START_S} s.",
        )
    reps = dose.reps or t.P3_REPS_MIN
    sets = dose.sets or t.P3_SETS_START
    if reps + t.P3_REP_STEP <= t.P3_REPS_MAX:
        return Step(
            "P3",
            replace(dose, reps=reps + t.P3_REP_STEP),
            level,
            f"Two good sessions: one more rep of {ex_name(ex)} per set.",
        )
    if sets < t.P3_SETS_MAX:
        return Step(
            "P3",
            replace(dose, sets=sets + 1, reps=t.P3_REPS_MIN),
            level,
            f"You reached {t.P3_REPS_MAX} reps: add a set, back at {t.P3_REPS_MIN} reps.",
        )
    nxt = _next_variation(ex, level)
    if nxt is None:
        return None
    return Step(
        "P3",
        replace(dose, sets=t.P3_SETS_START, reps=t.P3_REPS_MIN),
        nxt,
        f"Move on to {ex.ladder[nxt].name}, back at {t.P3_SETS_START} x {t.P3_REPS_MIN}.",
    )


def _p2_strength(ex: Exercise, dose: Dose, level: int) -> Step | None:
    reps = dose.reps or t.P2_REPS_MIN
    sets = dose.sets or t.P2_SETS_START
    if reps + t.P2_REP_STEP <= t.P2_REPS_MAX:
        return Step(
            "P2",
            replace(dose, reps=reps + t.P2_REP_STEP),
            level,
            f"Every set was complete for two sessions: one more rep of {ex_name(ex)}.",
        )
    load = dose.load_kg or 0.0
    if load > 0:
        new_load = raised_load(load)
        if new_load > load:
            return Step(
                "P2",
                replace(dose, load_kg=new_load, reps=t.P2_REPS_MIN),
                level,
                f"Every set reached {t.P2_REPS_MAX} reps without pain: raise the weight to "
                f"{new_load:g} kg (no more than 10 %) and drop back to {t.P2_REPS_MIN} reps.",
            )
    nxt = _next_variation(ex, level)
    if nxt is not None:
        first = ex.ladder[nxt].first_load_kg
        new_dose = replace(
            dose, reps=t.P2_REPS_MIN, load_kg=first if first is not None else dose.load_kg
        )
        return Step(
            "P2",
            new_dose,
            nxt,
            f"Every set reached {t.P2_REPS_MAX} reps without pain: move on to {ex.ladder[nxt].name}, "
            f"back at {t.P2_REPS_MIN} reps.",
        )
    if sets < t.P2_SETS_MAX:
        return Step(
            "P2",
            replace(dose, sets=sets + 1, reps=t.P2_REPS_MIN),
            level,
            f"Every set reached {t.P2_REPS_MAX} reps: add a set, back at {t.P2_REPS_MIN} reps.",
        )
    return None


def _p4_cardio(ex: Exercise, dose: Dose, level: int) -> Step | None:
    if ex.measure == "interval":
        iv = dose.interval
        if iv is None or iv.hard_min + t.P4_INTERVAL_HARD_STEP_MIN > t.P4_INTERVAL_HARD_CAP_MIN:
            return None
        new_iv = replace(iv, hard_min=iv.hard_min + t.P4_INTERVAL_HARD_STEP_MIN)
        return Step(
            "P4",
            replace(dose, interval=new_iv),
            level,
            f"Your intervals went well: make each hard part {new_iv.hard_min:g} minutes.",
        )
    minutes = dose.duration_min or t.P4_BOUT_MIN
    new_minutes = min(raised_minutes(minutes), t.P4_DURATION_CAP_MIN)
    if new_minutes <= minutes:
        return None
    return Step(
        "P4",
        replace(dose, duration_min=new_minutes),
        level,
        f"A good week: {ex_name(ex)} goes up to {new_minutes:g} minutes (at most 10 % more per week).",
    )


def lighter(dose: Dose, block: str) -> Dose:
    """B3: the lighter week's dose: one set fewer for strength and core, 70 % of cardio minutes."""
    if block in ("strength", "core") and (dose.sets or 1) > 1:
        return replace(dose, sets=(dose.sets or 1) - 1)
    if block == "cardio" and dose.duration_min is not None:
        cut = _floor_to(
            Fraction(str(dose.duration_min)) * Fraction(str(t.B3_DELOAD_CARDIO_FACTOR)),
            t.P4_MINUTE_STEP,
        )
        return replace(dose, duration_min=max(float(t.P4_BOUT_MIN), cut))
    return dose


def ease_back(ex: Exercise, dose: Dose, level: int) -> tuple[Dose, int] | None:
    """D4: one step down — -5 s hold, one load step (-10 %), -2 reps, or -10 % cardio minutes.

    None when the dose is already at the bottom of the ladder.
    """
    if ex.block == "stretching":
        hold = dose.hold_s or t.P1_HOLD_START_S
        if hold - t.D4_HOLD_STEP_S >= t.P1_HOLD_START_S:
            return replace(dose, hold_s=hold - t.D4_HOLD_STEP_S), level
        if level > 0:
            return replace(dose, hold_s=t.P1_HOLD_START_S), level - 1
        return None
    if ex.block == "core" and ex.measure == "hold":
        hold = dose.hold_s or t.P3_PLANK_START_S
        if hold - t.D4_HOLD_STEP_S >= t.P3_PLANK_FLOOR_S:
            return replace(dose, hold_s=hold - t.D4_HOLD_STEP_S), level
        return None
    if ex.block in ("core", "strength"):
        load = dose.load_kg or 0.0
        if load > 0:
            lower = _floor_to(
                Fraction(str(load)) * (100 - t.D4_LOAD_STEP_PCT) / 100, t.P2_EQUIPMENT_STEP_KG
            )
            lower = min(lower, load - t.P2_EQUIPMENT_STEP_KG)
            if lower > 0:
                return replace(dose, load_kg=lower), level
            return replace(dose, load_kg=None), max(0, level - 1)
        floor_reps = t.P2_REPS_MIN if ex.block == "strength" else t.P3_REPS_MIN
        reps = dose.reps or floor_reps
        if reps > floor_reps:
            return replace(dose, reps=max(floor_reps, reps - t.D4_REP_STEP)), level
        if (dose.sets or 1) > 1:
            return replace(dose, sets=(dose.sets or 1) - 1), level
        return None
    if ex.block == "cardio":
        if dose.interval is not None:
            iv = dose.interval
            if iv.hard_min - t.P4_INTERVAL_HARD_STEP_MIN >= t.P4_INTERVAL_HARD_MIN:
                return replace(
                    dose, interval=replace(iv, hard_min=iv.hard_min - t.P4_INTERVAL_HARD_STEP_MIN)
                ), level
            if iv.rounds > 2:
                return replace(dose, interval=replace(iv, rounds=iv.rounds - 1)), level
            return None
        minutes = dose.duration_min or t.P4_BOUT_MIN
        lower = max(
            t.P4_BOUT_MIN,
            _floor_to(
                Fraction(str(minutes)) * (100 - t.D4_CARDIO_STEP_PCT) / 100, t.P4_MINUTE_STEP
            ),
        )
        if lower < minutes:
            return replace(dose, duration_min=lower), level
        return None
    return None


def starting_interval() -> Interval:
    return Interval(t.P4_INTERVAL_HARD_MIN, t.P4_INTERVAL_EASY_MIN, t.P4_INTERVAL_ROUNDS, "low")


def ex_name(ex: Exercise) -> str:
    return ex.slug.replace("_", " ")
