"""D12: easing back changes one dimension, the last one raised (never reps and sets together).

"Ease back slightly" is one step down (D4); which step is decided by what the last step-up
raised, so a load raise is taken back as load and a rep raise as reps.
"""

from dataclasses import replace

from planner.domain import rules_table as t
from planner.domain.ladder import ease_back
from planner.domain.routine import Change, Dose
from planner.domain.state import State, Track

_RAISED = ("load_kg", "sets", "reps", "hold_s", "duration_min")


def last_raised(state: State, track: Track, dose: Dose) -> str | None:
    """The dose field raised by the step-up that led to `dose` (None: none, or only its form)."""
    for change in reversed(state.changes):
        if change.exercise != track.rx.exercise or change.block != track.rx.block:
            continue
        if change.direction == "up" and change.after == dose:
            return _raised(change)
    return None


def _raised(change: Change) -> str | None:
    before, after = change.before, change.after
    if before is None or after is None:
        return None
    for name in _RAISED:
        was, now = getattr(before, name), getattr(after, name)
        if now is not None and (was is None or now > was):
            return name
    return None


def d12_ease_one_dimension(
    state: State, track: Track, dose: Dose, level: int
) -> tuple[Dose, int] | None:
    """One step down the dimension last raised, when it can go down; else D4's one step."""
    raised = last_raised(state, track, dose)
    floor = t.P2_REPS_MIN if track.rx.block == "strength" else t.P3_REPS_MIN
    if raised == "reps" and dose.reps is not None and dose.reps > floor:
        return replace(dose, reps=max(floor, dose.reps - t.D4_REP_STEP)), level
    if raised == "sets" and dose.sets is not None and dose.sets > 1:
        return replace(dose, sets=dose.sets - 1), level
    return ease_back(track.ex, dose, level)
