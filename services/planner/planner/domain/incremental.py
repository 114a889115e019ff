"""derive_routine one event at a time, for the common case of events arriving in order.

The fold is a left fold over the ordered history, so when a new event sorts after every event
already folded, and cannot replace an earlier record, folding just that event onto the kept
state gives exactly what folding the whole history again would. Anything else (a late event,
a re-synced record, a retraction, a record taken back before it arrived) needs the whole
history: `take` says so and the caller folds it again.
"""

from collections.abc import Iterable
from datetime import datetime

from planner.domain.engine import apply, derive_routine
from planner.domain.history import RECORD_RETRACTED, LoggedEvent, Retractions, history_order
from planner.domain.output import build_routine
from planner.domain.routine import Routine
from planner.domain.state import State
from planner.domain.timeline import ordered, record_key


class IncrementalFold:
    def __init__(self, as_of: datetime) -> None:
        self._state = State()
        self._last: LoggedEvent | None = None
        self._as_of = as_of
        self._retractions = Retractions({}, {})

    @classmethod
    def of(cls, history: Iterable[LoggedEvent], as_of: datetime) -> "IncrementalFold":
        """The fold of a whole history, as derive_routine(history, as_of) folds it."""
        fold = cls(as_of)
        history = list(history)
        fold._retractions = Retractions.of(history)
        for event in ordered(history, as_of):
            apply(fold._state, event)
            fold._last = event
        return fold

    def take(self, event: LoggedEvent) -> bool:
        """Fold `event` on if the result equals a fold of the whole history; else change nothing
        and return False."""
        if record_key(event) is not None or event.type == RECORD_RETRACTED:
            return False
        if self._retractions and self._retractions.taking_back(event) is not None:
            return False
        if self._last is not None and history_order(event) <= history_order(self._last):
            return False
        apply(self._state, event)
        self._last = event
        self._as_of = event.occurred_at
        return True

    @property
    def as_of(self) -> datetime:
        return self._as_of

    def routine(self) -> Routine:
        """What derive_routine gives for the folded events, as of the latest of them (the most
        conservative start when a retraction left none)."""
        if self._last is None:
            return derive_routine((), self._as_of)
        return build_routine(self._state, self._as_of)
