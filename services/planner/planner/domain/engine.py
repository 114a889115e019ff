"""The fold: a user's ordered history through the rules, into a routine.

Each event type has one handler here; the handlers only decide which rules to ask, in which
order. Pain rules run before progression rules so that pain always wins (DOMAIN.md).
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from planner.domain.history import LoggedEvent
from planner.domain.output import build_routine
from planner.domain.routine import Routine
from planner.domain.rules.starting import s1_baseline
from planner.domain.state import State
from planner.domain.timeline import ordered


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
    if event.payload.get("pain_at_rest") is not None:
        state.usual_pain = int(event.payload["pain_at_rest"])
    # A baseline sets the first routine; a later one re-sets it only while nothing has progressed.
    if first and not any(c.direction in ("up", "down", "revert") for c in state.changes):
        s1_baseline(state, (event.event_id,), event.occurred_at, event.payload)


HANDLERS: dict[str, Callable[[State, LoggedEvent], None]] = {
    "baseline.assessed": on_baseline,
}
