"""Every rules version the planner can fold with: today's, and each earlier one frozen as it was.

Live processing uses `CURRENT`. An audit replays a user's events under the rules version their
recorded routine versions were made with, so history made by an older version still reproduces
exactly after the rules moved on.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from planner.domain import engine, incremental, rules_table
from planner.domain.frozen import r2025_06_1
from planner.domain.history import LoggedEvent


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


CURRENT = Rulebook(rules_table.RULES_VERSION, incremental.IncrementalFold.of, engine.derive_routine)

RULEBOOKS: dict[str, Rulebook] = {
    book.version: book
    for book in (
        CURRENT,
        Rulebook(
            r2025_06_1.RULES_VERSION, r2025_06_1.IncrementalFold.of, r2025_06_1.derive_routine
        ),
    )
}


def rulebook(version: str | None) -> Rulebook | None:
    """The rules of `version` (today's for None); None for a version this planner never had."""
    return CURRENT if version is None else RULEBOOKS.get(version)
