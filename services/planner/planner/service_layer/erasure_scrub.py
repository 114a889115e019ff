"""Finishing an erasure on the planner's side: once it has dropped the user's projections (in
the transaction that applied the `user.erased` marker), nothing of theirs may stay readable
elsewhere either. Their dead letters are purged from the broker, and the database's files are
scrubbed (see `backtrack_shared.db.scrub`) before the erasure is noted as scrubbed; should any
step fail, the next round does it all again (each step may be repeated)."""

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Protocol

import structlog

from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyUnitOfWork

log = structlog.get_logger(__name__)

# Often enough that an erasure is finished seconds after it reaches the planner; one indexed
# read of a small table when there is nothing to do.
SCRUB_INTERVAL_S = 2.0


class DeadLetters(Protocol):
    def purge_users(self, users: Collection[UserKey]) -> int: ...


class ErasureScrub:
    def __init__(
        self,
        unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
        dead_letters: DeadLetters,
        scrub_files: Callable[[], None],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._unit_of_work = unit_of_work
        self._dead_letters = dead_letters
        self._scrub_files = scrub_files
        self._now = now

    def __call__(self) -> int:
        """Scrub every erasure not scrubbed yet; how many."""
        with self._unit_of_work() as uow:
            users = uow.store.erasures_to_scrub()
        if not users:
            return 0
        purged = self._dead_letters.purge_users(users)
        self._scrub_files()
        with self._unit_of_work() as uow:
            uow.store.erasures_scrubbed(users, self._now())
            uow.commit()
        log.info(
            "erasures.scrubbed",
            users=[f"{u.tenant}/{u.user_id}" for u in users],
            dead_letters_purged=purged,
        )
        return len(users)
