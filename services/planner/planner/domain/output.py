"""From the working state to the routine a user sees."""

from datetime import datetime

from planner.domain.exercises import BLOCKS, EXERCISES
from planner.domain.routine import Block, Routine
from planner.domain.rules_table import RULES_VERSION
from planner.domain.state import State

_ORDER = {slug: i for i, slug in enumerate(EXERCISES)}


def build_routine(state: State, as_of: datetime) -> Routine:
    paused = state.paused is not None
    blocks: list[Block] = []
    if not paused:  # R6: exercise is never prescribed around a red flag
        for name in BLOCKS:
            rxs = sorted(
                (tr.rx for (block, _), tr in state.tracks.items() if block == name),
                key=lambda rx: _ORDER[rx.exercise],
            )
            if rxs:
                blocks.append(Block(name, tuple(rxs)))
    return Routine(
        rules_version=RULES_VERSION,
        status="paused" if paused else "active",
        pause_reason=state.paused[0] if state.paused else None,
        blocks=tuple(blocks),
        changes=tuple(state.changes),
        held_out=tuple(state.held_out[k] for k in sorted(state.held_out)),
        based_on={
            "events": None if state.last_event is None else _count(state),
            "last_event_id": None if state.last_event is None else state.last_event.event_id,
            "last_event_at": None
            if state.last_event is None
            else state.last_event.occurred_at.isoformat(),
        },
    )


def _count(state: State) -> int:
    return state.event_count
