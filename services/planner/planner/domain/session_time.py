"""D11: how long a training session takes, estimated from its prescriptions, and its budget.

The estimate: warm-up and cool-down minutes, for each exercise its sets x (reps at ~3 s a rep,
or the hold) with 60 s rest between sets, and cardio minutes. A training day does every
prescription of the routine, except cardio done on fewer days than the plan's four, which takes
turns with the rest of such cardio (the weekly plan shares it out): the longest of them counts.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from planner.domain import rules_table as t
from planner.domain.routine import Dose, Prescription

TRAINING_BLOCKS = ("warmup", "stretching", "strength", "core", "cardio", "cooldown")


def dose_minutes(dose: Dose) -> float:
    """Minutes of a timed dose (a walk, an interval session): 0 for sets and reps."""
    if dose.interval is not None:
        iv = dose.interval
        return (iv.hard_min + iv.easy_min) * iv.rounds
    return float(dose.duration_min or 0.0)


def exercise_seconds(block: str, dose: Dose) -> float:
    if block in ("cardio", "warmup", "cooldown") or dose.duration_min is not None:
        return dose_minutes(dose) * 60
    sets = dose.sets or 1
    work = dose.hold_s if dose.hold_s is not None else (dose.reps or 0) * t.D11_SECONDS_PER_REP
    return sets * work + (sets - 1) * t.D11_REST_BETWEEN_SETS_S


def takes_turns(block: str, dose: Dose) -> bool:
    """Cardio prescribed on fewer days than a training week has: not on every training day."""
    spw = dose.sessions_per_week
    return block == "cardio" and spw is not None and spw < t.P4_SESSIONS_PER_WEEK


def estimate_min(doses: Iterable[tuple[str, Dose]]) -> float:
    """The estimated minutes of a session doing these (block, dose) pairs."""
    every, turns = 0.0, [0.0]
    for block, dose in doses:
        if block not in TRAINING_BLOCKS:
            continue
        if takes_turns(block, dose):
            turns.append(exercise_seconds(block, dose))
        else:
            every += exercise_seconds(block, dose)
    return (every + max(turns)) / 60


def routine_estimate_min(prescriptions: Iterable[Prescription]) -> float:
    return estimate_min((rx.block, rx.dose) for rx in prescriptions)


def budget_min(baseline: Mapping[str, Any] | None) -> int:
    """`baseline.assessed.session_budget_min` (20-120), else the default 60 minutes."""
    value = (baseline or {}).get("session_budget_min")
    if value is None:
        return int(t.D11_SESSION_BUDGET_MIN)
    return int(min(t.D11_BUDGET_MAX_MIN, max(t.D11_BUDGET_MIN_MIN, int(value))))


def weekly_cardio_min(doses: Iterable[tuple[str, Dose]]) -> float:
    """D20: the prescribed cardio minutes of a week."""
    return sum(dose_minutes(d) * (d.sessions_per_week or 0) for b, d in doses if b == "cardio")
