"""D14 back from a break, and B4 guarding the ramp after it (finding 7).

After 14 or more local days without a session, every exercise resumes one step down (D4) per
full week missed, at most 3; a red-flag pause counts the same way when its review resumes the
routine. Then, when the next planned week's load would put the 7:28-day ratio above 1.5, the
doses are lowered one step at a time until it would not (at most `B4_GUARD_MAX_STEPS`).
"""

import copy
from collections.abc import Iterable
from datetime import datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.ladder import ease_back
from planner.domain.load import session_load
from planner.domain.routine import Dose, Prescription
from planner.domain.rules.pain_rules import NOT_PROGRESSED, interrupt_progression
from planner.domain.state import Session, State, Why, local_days_between

_DAY = timedelta(days=1)


def d14_steps(days: int) -> int:
    """Steps down for a break of `days` local days: one per full week, at most 3."""
    return min(t.D14_MAX_STEPS, days // 7)


def d14_back_from_a_break(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    """At the first session after 14+ days without one: the doses come down before it counts."""
    if len(state.session_order) < 2:
        return
    previous = state.sessions[state.session_order[-2]]
    days = local_days_between(state, previous.event.occurred_at, at)
    if days >= t.D14_BREAK_DAYS:
        interrupt_progression(state, at)
        state.void_evidence(at)
        d14_ease_for_a_break(state, days, causes, at)
        # Only at the return: with logs whose minutes do not follow the doses, the estimate
        # of a later week would lower the doses of steady progress as well.
        b4_guard_the_ramp(state, causes, at, t.B4_GUARD_MAX_STEPS)
    state.break_steps_taken = 0


def d14_ease_for_a_break(state: State, days: int, causes: tuple[str, ...], at: datetime) -> None:
    _ease_all(
        state,
        d14_steps(days) - state.break_steps_taken,
        Why(
            "D14",
            f"Back after {days} days without a session: one step lighter per week missed, "
            "to build up again safely.",
            causes,
            at,
        ),
    )


def d14_as_of(state: State, as_of: datetime) -> State:
    """The routine shown at `as_of`, 14 or more days after the last session, is already the
    lighter one the first session back will be given (on a copy: only events change state)."""
    last = state.last_session()
    if last is None or state.paused is not None:
        return state
    days = local_days_between(state, last.event.occurred_at, as_of)
    if days < t.D14_BREAK_DAYS or d14_steps(days) <= state.break_steps_taken:
        return state
    preview = copy.deepcopy(state)
    d14_ease_for_a_break(preview, days, (last.event.event_id,), as_of)
    return preview


def d14_after_a_pause(
    state: State, paused_at: datetime, causes: tuple[str, ...], at: datetime
) -> None:
    """When a review resumes a red-flag pause: one step down per full week paused."""
    steps = d14_steps(local_days_between(state, paused_at, at))
    _ease_all(
        state,
        steps,
        Why(
            "D14",
            "Back after a pause: one step lighter per week it lasted, to build up again safely.",
            causes,
            at,
        ),
    )
    state.break_steps_taken = steps
    b4_guard_the_ramp(state, causes, at, t.B4_GUARD_MAX_STEPS)


def _ease_all(state: State, steps: int, why: Why) -> bool:
    """Every progressed exercise `steps` steps down its ladder; whether anything moved."""
    moved = False
    if steps <= 0:
        return moved
    for key in sorted(state.tracks):
        if key[0] in NOT_PROGRESSED:
            continue
        track = state.tracks[key]
        for _ in range(steps):  # each step its own change: one dimension at a time (D12)
            lower = ease_back(track.ex, *state.standing(track))
            if lower is None:
                break
            state.set_standing(track, why=why, dose=lower[0], level=lower[1], direction="down")
            moved = True
    return moved


# --- B4: the planned week's load ------------------------------------------------------------


def _minutes(dose: Dose) -> float:
    """A rough time for one session of a dose: cardio minutes, or sets of reps (3 s each) or
    holds with a minute's rest between sets."""
    if dose.interval is not None:
        iv = dose.interval
        return (iv.hard_min + iv.easy_min) * iv.rounds
    if dose.duration_min is not None:
        return float(dose.duration_min)
    sets = dose.sets or 1
    work_s = dose.hold_s if dose.hold_s is not None else (dose.reps or 0) * t.B4_SECONDS_PER_REP
    return sets * (work_s + t.B4_REST_BETWEEN_SETS_S) / 60


def _session_minutes(rxs: Iterable[Prescription]) -> float:
    return sum(_minutes(rx.dose) for rx in rxs)


def planned_ratio(state: State, at: datetime) -> float | None:
    """The 7:28-day ratio at the end of the next planned week, its load estimated from what the
    recent sessions' load was per minute of their doses; None without the data to say."""
    recent = state.sessions_after(at - t.B4_CHRONIC_DAYS * _DAY, at)
    rates = []
    for s in recent:
        load = session_load(s.event.payload)
        planned = _session_minutes(s.doses.values())
        if load is not None and planned > 0:
            rates.append(load / planned)
    first = state.loads.first_instant()
    if not rates or first is None or at - first < t.B4_CHRONIC_DAYS * _DAY:
        return None
    prior = sum(  # the three weeks before the planned one stay in its 28-day window
        load for when, load in state.loads.after(at - 3 * t.B4_ACUTE_DAYS * _DAY, at) if when < at
    )
    if prior <= 0:
        return None  # nothing in the window to compare with: the ratio says nothing (D8)
    now = _session_minutes(tr.rx for tr in state.tracks.values())
    # The week ahead like the last one (at least F1's sessions), at today's doses.
    last_week = sum(1 for s in recent if at - t.B4_ACUTE_DAYS * _DAY < s.event.occurred_at <= at)
    sessions = max(t.F1_MIN_SESSIONS_PER_WEEK, last_week)
    week = sum(rates) / len(rates) * now * sessions
    chronic_weekly = (prior + week) * t.B4_ACUTE_DAYS / t.B4_CHRONIC_DAYS
    return week / chronic_weekly


def b4_guard_the_ramp(state: State, causes: tuple[str, ...], at: datetime, max_steps: int) -> None:
    for _ in range(max_steps):
        ratio = planned_ratio(state, at)
        if ratio is None or ratio <= t.B4_MAX_RATIO:
            return
        why = Why(
            "B4",
            f"The week ahead would be {ratio:.2f} times your recent load: one step lighter so "
            f"it stays at or below {t.B4_MAX_RATIO}.",
            causes,
            at,
        )
        if not _ease_all(state, 1, why):
            return
