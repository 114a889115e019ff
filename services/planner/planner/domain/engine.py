"""The fold: a user's ordered history through the rules, into a routine.

Each event type has one handler here; the handlers only decide which rules to ask, in which
order. Pain rules run before progression rules so that pain always wins (DOMAIN.md).
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from planner.domain.exercises import KIND_BLOCK
from planner.domain.history import RETAINED_RED_FLAGS, LoggedEvent
from planner.domain.load import session_load
from planner.domain.output import build_routine
from planner.domain.pain import (
    DURING,
    keys_for,
    lasts_24_hours,
    rising,
    session_for,
    zone,
)
from planner.domain.routine import Routine
from planner.domain.rules.breaks import d14_after_a_pause, d14_back_from_a_break
from planner.domain.rules.decisions import d6_is_flare_up, introduce_next
from planner.domain.rules.deload import b3_deload_week
from planner.domain.rules.flares import d13_ease_what_caused_it
from planner.domain.rules.pain_rules import (
    b1_back_to_usual_by_next_morning,
    interrupt_progression,
    r1_stop_on_sharp_pain,
    r2_ease_back_after_24h_pain,
    r3_flare_up_from_core,
    r3_resume_core,
    r4_revert_on_setback,
    r5_form_before_volume,
    r6_referral,
    r6_resume_after_clearance,
)
from planner.domain.rules.progression import progress_after_session
from planner.domain.rules.s2_parking import (
    s2_gate_what_returns,
    s2_park_while_in_pain,
    s2_resume_when_quiet,
)
from planner.domain.rules.starting import s1_baseline
from planner.domain.rules.tolerable_amber import d9_tolerable_amber, settled
from planner.domain.state import Clearance, Flare, PainPoint, Session, State
from planner.domain.timeline import declared_zone, ordered


def derive_routine(history: Iterable[LoggedEvent], as_of: datetime) -> Routine:
    """The routine as it stood at `as_of`: pure, and the same whatever order events arrived in."""
    state = fold(ordered(history, as_of))
    if state.started_at is None:  # no events yet: the most conservative start, caused by nothing
        s1_baseline(state, (), as_of, None)
    return build_routine(state, as_of)


def fold(events: Iterable[LoggedEvent]) -> State:
    state = State()
    for event in events:
        apply(state, event)
    return state


def apply(state: State, event: LoggedEvent) -> None:
    if state.started_at is None:
        _start(state, event)
    b3_deload_week(state, event)
    handler = HANDLERS.get(event.type)
    if handler is not None:
        handler(state, event)
    state.last_event = event
    state.event_count += 1


def _start(state: State, event: LoggedEvent) -> None:
    state.started_at = event.occurred_at
    state.start_event_id = event.event_id
    state.epoch_start = event.occurred_at
    if event.type != "baseline.assessed":
        s1_baseline(state, (event.event_id,), event.occurred_at, None)


def on_baseline(state: State, event: LoggedEvent) -> None:
    first = state.baseline is None
    state.baseline = event.payload
    state.baseline_event_id = event.event_id
    state.zone = declared_zone(event.payload.get("time_zone"))
    if event.payload.get("pain_at_rest") is not None:
        state.usual_pain = int(event.payload["pain_at_rest"])
    # A baseline sets the first routine; a later one re-sets it only while nothing has progressed.
    if first and not any(c.direction in ("up", "down", "revert") for c in state.changes):
        s1_baseline(state, (event.event_id,), event.occurred_at, event.payload)


def on_workout(state: State, event: LoggedEvent) -> None:
    payload = event.payload
    session_id = str(payload.get("session_id") or event.event_id)
    entries = {}
    for entry in payload.get("exercises", ()):
        block = KIND_BLOCK.get(str(entry.get("kind")))
        if block is not None:
            entries[(block, str(entry.get("exercise")))] = entry
    doses = {key: state.tracks[key].rx for key in entries if key in state.tracks}
    session = Session(
        session_id,
        event,
        state.local_date(event.occurred_at),
        entries,
        doses,
        lighter=frozenset(key for key in doses if key in state.deload_base),
    )
    state.log_session(session)
    load = session_load(payload)
    if load is not None:
        state.loads.append((event.occurred_at, load))
    # Pain reported before the workout was logged, naming this session, is applied first.
    early = state.pending_pain.pop(session_id, [])
    session.reported_before = frozenset(report.event_id for report in early)
    for report in early:
        _session_pain(state, report, session)
    if state.paused is None:
        d14_back_from_a_break(state, session, (event.event_id,), event.occurred_at)
    stopped = sorted(k for k, e in entries.items() if e.get("stopped_for_pain"))
    if stopped:  # stopping for pain is the seed's answer to extreme pain: R1
        r1_stop_on_sharp_pain(state, session, stopped, (event.event_id,), event.occurred_at)
    if state.paused is None:
        progress_after_session(state, session)
        s2_resume_when_quiet(state, (event.event_id,), event.occurred_at)
        introduce_next(state, event)


def on_pain(state: State, event: LoggedEvent) -> None:
    p = event.payload
    score = int(p["score"])
    causes = (event.event_id,)
    at = event.occurred_at
    state.pain.append(PainPoint(at, score, str(p.get("timing")), event.event_id))
    if p.get("red_flags"):
        r6_referral(state, [str(f) for f in p["red_flags"]], causes, at)
    if p.get("timing") == "rest":
        state.rest_pain_total += score
        state.rest_pain_count += 1
    if p.get("timing") == "rest" and (state.baseline or {}).get("pain_at_rest") is None:
        # no baseline: the usual level is what rest reports say
        state.usual_pain = state.rest_pain_total // state.rest_pain_count
    session = session_for(state, event)
    if session is None and p.get("session_id") is not None:
        state.pending_pain.setdefault(str(p["session_id"]), []).append(event)
    elif session is not None:
        _session_pain(state, event, session)
    if d6_is_flare_up(state, event):
        cause = str(p.get("flare_up_cause") or "")
        if not cause and p.get("exercise") and session is not None:
            cause = next((k[0] for k in session.entries if k[1] == p["exercise"]), "")
        cause = KIND_BLOCK.get(cause, cause)  # a declared kind ("stretch") names its block
        state.flares.append(Flare(at, cause, event.event_id))
        interrupt_progression(state, at)
        if cause == "core":
            r3_flare_up_from_core(state, causes, at)
        else:
            d13_ease_what_caused_it(state, cause, causes, at)
    if rising(state, at):
        r4_revert_on_setback(state, causes, at)
    s2_park_while_in_pain(state, causes, at)


def _session_pain(state: State, event: LoggedEvent, session: Session) -> None:
    p = event.payload
    score = int(p["score"])
    causes = (event.event_id,)
    at = event.occurred_at
    exercise = str(p["exercise"]) if p.get("exercise") else None
    if p.get("timing") in DURING:
        keys = keys_for(state, session, exercise)
        if zone(score) == "red":
            r1_stop_on_sharp_pain(state, session, keys, causes, at)
        elif zone(score) == "amber":
            r5_form_before_volume(state, session, keys, causes, at)
    if lasts_24_hours(state, event):
        r2_ease_back_after_24h_pain(state, session, causes, at)
    elif p.get("timing") == "next_morning" and not settled(state, score):
        b1_back_to_usual_by_next_morning(state, session, causes, at)
    elif p.get("timing") == "next_morning":
        session.settled = True
        d9_tolerable_amber(state, session, causes, at)


def on_clearance(state: State, event: LoggedEvent) -> None:
    scopes = tuple(str(s) for s in event.payload.get("scopes", ()))
    state.clearances.append(Clearance(event.occurred_at, scopes, event.event_id))
    causes = (event.event_id,)
    pause = state.paused
    r6_resume_after_clearance(state, causes, event.occurred_at)
    if pause is not None and state.paused is None:
        d14_after_a_pause(state, pause.at, causes, event.occurred_at)
    if "core" in scopes:
        r3_resume_core(state, causes, event.occurred_at)
        s2_gate_what_returns(state, causes, event.occurred_at)


def on_retained_red_flags(state: State, event: LoggedEvent) -> None:
    """The red flags of a report taken back (retracted or corrected): neither lifts a pause (R6),
    so they pause the routine as the report did, until a clinician has reviewed them."""
    flags = [str(f) for f in event.payload["red_flags"]]
    causes = (event.event_id, str(event.payload["taken_back_by"]))
    r6_referral(state, flags, causes, event.occurred_at)


def on_goal(state: State, event: LoggedEvent) -> None:
    state.goals[str(event.payload.get("goal_id"))] = (event.payload, event)


HANDLERS: dict[str, Callable[[State, LoggedEvent], None]] = {
    "baseline.assessed": on_baseline,
    "workout.logged": on_workout,
    "pain.reported": on_pain,
    "clearance.recorded": on_clearance,
    "goal.set": on_goal,
    RETAINED_RED_FLAGS: on_retained_red_flags,
}
