"""D10, D15, D16: what the routine says about how the plan is going (advice, never a dose)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from planner.domain import rules_table as t
from planner.domain.routine import Advice, Dose, Prescription
from planner.domain.rules_table import RULES
from planner.domain.state import Session, State

HARD_BLOCKS = ("strength", "core")


def is_hard(session: Session) -> bool:
    return any(key[0] in HARD_BLOCKS for key in session.entries)


def d16_day_after_a_hard_session(state: State, session: Session) -> bool:
    """D16: is this a strength or core session on the local day after another one?"""
    if not is_hard(session):
        return False
    for sid in reversed(state.session_order):
        other = state.sessions[sid]
        if other is session or other.event.occurred_at > session.event.occurred_at:
            continue
        if is_hard(other) and other.day < session.day:
            return (session.day - other.day).days <= t.D16_REST_DAYS_BETWEEN
    return False


def d16_rest_between_hard_days(state: State) -> Advice | None:
    last = next(
        (state.sessions[s] for s in reversed(state.session_order) if is_hard(state.sessions[s])),
        None,
    )
    if last is None or not d16_day_after_a_hard_session(state, last):
        return None
    return Advice(
        "D16",
        "info",
        "Strength and core work two days running: rest a day between them. A session the day "
        "after another does not count towards your next step.",
        (last.event.event_id,),
    )


def _seen(rx: Prescription, session: Session) -> Dose:
    """The dose the person had in front of them: a change the session itself brought (the
    lighter week starting or ending with it, or with a report sent during it) came after they
    had their dose."""
    change = rx.last_change
    own = change.at >= session.event.occurred_at or (
        bool(change.caused_by) and set(change.caused_by) <= session.reported_before
    )
    if own and change.before is not None:
        return change.before
    return rx.dose


def _over(block: str, logged: Mapping[str, Any], dose: Dose) -> bool:
    """D15: load over 10 % more, reps above the range, cardio over 20 % longer."""
    sets = list(logged.get("sets") or ())
    loads = [float(s["load_kg"]) for s in sets if s.get("load_kg") is not None]
    if loads and max(loads) > (dose.load_kg or 0.0) * (100 + t.D15_LOAD_OVER_PCT) / 100:
        return True
    top = t.P2_REPS_MAX if block == "strength" else t.P3_REPS_MAX if block == "core" else None
    if top is not None and any(int(s.get("reps") or 0) > top for s in sets):
        return True
    if block == "cardio":
        minutes = sum(float(s.get("duration_min") or 0) for s in sets)
        wanted = dose.weekly_minutes() / (dose.sessions_per_week or 1)
        return wanted > 0 and minutes > wanted * (100 + t.D15_CARDIO_OVER_PCT) / 100
    return False


def d15_stay_with_the_plan(state: State) -> Advice | None:
    """D15: the last session went past the prescription: say so; the plan steps from its own dose."""
    last = state.last_session()
    if last is None:
        return None
    if last.over_plan is None:  # what a session logged and had in front of it stays as it was
        last.over_plan = sorted(
            key[1].replace("_", " ")
            for key, logged in last.entries.items()
            if key in last.doses and _over(key[0], logged, _seen(last.doses[key], last))
        )
    over = last.over_plan
    if not over:
        return None
    return Advice(
        "D15",
        "info",
        f"You did more than planned ({', '.join(over)}). Doing more is not a reason to jump: stay "
        "with the plan; it steps up from the prescribed dose when you are ready.",
        (last.event.event_id,),
    )


def _active_since_last_step(state: State, as_of: datetime) -> tuple[datetime, timedelta]:
    """The last step-up (or the start) and the time since it that the routine was not paused."""
    assert state.started_at is not None
    # The scan goes on from where the last one stopped while the changes it read all came by
    # `as_of` (the fold only appends to them): a routine read after each event reads each once.
    scanned = state.since_last_step
    if scanned is None or scanned[0] > len(state.changes) or scanned[1] > as_of:
        scanned = (0, state.started_at, state.started_at, timedelta(0), None)
    read, latest, last_up, paused, paused_since = scanned
    for c in state.changes[read:]:
        if c.at > as_of:
            break
        read, latest = read + 1, max(latest, c.at)
        if c.direction == "up":
            last_up, paused, paused_since = c.at, timedelta(0), None
        elif c.direction == "pause" and paused_since is None:
            paused_since = c.at
        elif c.direction == "resume" and paused_since is not None:
            paused, paused_since = paused + (c.at - paused_since), None
    if scanned[0] == 0 or read > scanned[0]:
        state.since_last_step = (read, latest, last_up, paused, paused_since)
    return last_up, as_of - last_up - paused


def d10_plateau_review(state: State, as_of: datetime) -> Advice | None:
    """D10: four weeks of sessions with no step-up (pauses aside): review with a physiotherapist."""
    if state.paused is not None or state.started_at is None:
        return None
    last_up, active = _active_since_last_step(state, as_of)
    if active < timedelta(days=t.D10_PLATEAU_DAYS):
        return None
    sessions = state.sessions_after(last_up, as_of)
    if len(sessions) < t.D10_MIN_SESSIONS:
        return None
    holds = sorted({tr.hold.rule for tr in state.tracks.values() if tr.hold is not None})
    named = "; ".join(f"{r} ({RULES[r].name})" if r in RULES else r for r in holds)
    return Advice(
        "D10",
        "caution",
        f"No exercise has stepped up for {t.D10_PLATEAU_DAYS // 7} weeks of sessions: review your "
        f"routine with a physiotherapist. What held it: {named or 'nothing recorded'}.",
        tuple(s.event.event_id for s in sessions[-2:]),
    )
