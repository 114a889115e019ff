"""Every rules version the planner can fold with: today's, and each earlier one frozen as it was.

Live processing uses `CURRENT`. An audit replays a user's events under the rules version their
recorded routine versions were made with, so history made by an older version still reproduces
exactly after the rules moved on.

Rules 2025.06-1 knew no `record.retracted`: they made their routine versions before any client
could retract, so an audit under them folds a retracted record as if it still stood and passes
the retraction by, exactly as those rules would have. Their frozen code is never edited: the
retractions are held back here, before the history reaches it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from planner.domain import engine, incremental, rules_table
from planner.domain.frozen import r2025_06_1
from planner.domain.history import RECORD_RETRACTED, LoggedEvent


class Routine(Protocol):
    def to_dict(self) -> dict[str, object]: ...


class Fold(Protocol):
    """A user's history folded through one rules version, taking later events one at a time."""

    @property
    def as_of(self) -> datetime: ...

    def take(self, event: LoggedEvent) -> bool: ...

    def routine(self) -> Routine: ...


@dataclass(frozen=True)
class Rulebook:
    version: str
    fold_of: Callable[[Iterable[LoggedEvent], datetime], Fold]
    derive_routine: Callable[[Iterable[LoggedEvent], datetime], Routine]


class _PassingRetractionsBy:
    """A fold of rules that know no retraction: a retraction changes nothing in it."""

    def __init__(self, fold: Fold, nothing_folded: Callable[[], Routine] | None) -> None:
        self._fold = fold
        self._nothing_folded = nothing_folded  # the routine of no events, while there are none

    @property
    def as_of(self) -> datetime:
        return self._fold.as_of

    def take(self, event: LoggedEvent) -> bool:
        if event.type == RECORD_RETRACTED:
            return True
        if self._nothing_folded is not None:
            return False  # the first event the rules see: fold it from the start
        return self._fold.take(event)

    def routine(self) -> Routine:
        return self._nothing_folded() if self._nothing_folded else self._fold.routine()


def _without_retractions(events: Iterable[LoggedEvent]) -> list[LoggedEvent]:
    return [event for event in events if event.type != RECORD_RETRACTED]


def _before_retractions(book: Rulebook) -> Rulebook:
    """`book`, for rules made before `record.retracted` existed."""

    def fold_of(events: Iterable[LoggedEvent], as_of: datetime) -> Fold:
        seen = _without_retractions(events)
        nothing = None if seen else (lambda: book.derive_routine((), as_of))
        return _PassingRetractionsBy(book.fold_of(seen, as_of), nothing)

    return Rulebook(
        book.version,
        fold_of,
        lambda events, as_of: book.derive_routine(_without_retractions(events), as_of),
    )


CURRENT = Rulebook(rules_table.RULES_VERSION, incremental.IncrementalFold.of, engine.derive_routine)

RULEBOOKS: dict[str, Rulebook] = {
    book.version: book
    for book in (
        CURRENT,
        _before_retractions(
            Rulebook(
                r2025_06_1.RULES_VERSION, r2025_06_1.IncrementalFold.of, r2025_06_1.derive_routine
            )
        ),
    )
}


def rulebook(version: str | None) -> Rulebook | None:
    """The rules of `version` (today's for None); None for a version this planner never had."""
    return CURRENT if version is None else RULEBOOKS.get(version)
