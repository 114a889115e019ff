"""The planner's memory of each recent user's fold, so an event arriving in order costs one step
of the rules instead of a reread and refold of the user's whole history.

A fold is checked out for one application and checked back in only after its transaction
committed: a fold never holds an event the database does not. Several planner instances apply
a user in turn (a partition moves, another's catch-up fills a gap), so a fold is kept with a
stamp of what the database said of the user then, and refolded when the database says more. Bounded: the least recently used
users are forgotten, and folded again from the database when they come back.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from backtrack_shared.user_key import UserKey
from planner.domain import LoggedEvent
from planner.domain.rulebooks import Fold
from planner.domain.versions import fold_with, user_of

# A 12-week history's fold holds about 0.75 MiB (bench/): 256 users keep it under ~200 MiB.
DEFAULT_MAX_USERS = 256  # PLANNER_FOLD_CACHE_USERS in the service


class RoutineFolds:
    def __init__(self, max_users: int = DEFAULT_MAX_USERS) -> None:
        self._max_users = max_users
        self._folds: OrderedDict[UserKey, Fold] = OrderedDict()
        self._stamps: dict[UserKey, object] = {}
        self._lock = threading.Lock()

    def check_out(
        self,
        event: LoggedEvent,
        history: Callable[[], Sequence[LoggedEvent]],
        *,
        kept: Fold | None = None,
        stamp: object = None,
    ) -> Fold:
        """The user's fold with `event` taken on (`kept`: one already checked out for this user;
        `stamp`: what the database says of the user now, which a kept fold must match).
        Until checked in, nobody else has it."""
        if kept is None:
            with self._lock:
                user = user_of(event)
                kept = self._folds.pop(user, None)
                if self._stamps.pop(user, None) != stamp and stamp is not None:
                    kept = None  # the database holds events this fold missed
        return fold_with(kept, event, history)

    def check_in(self, user: UserKey, fold: Fold, stamp: object = None) -> None:
        with self._lock:
            self._folds[user] = fold
            self._stamps[user] = stamp
            self._folds.move_to_end(user)
            while len(self._folds) > self._max_users:
                forgotten, _ = self._folds.popitem(last=False)
                self._stamps.pop(forgotten, None)

    def forget(self, user: UserKey | None = None) -> None:
        """After a rebuild: what is kept no longer matches the database."""
        with self._lock:
            if user is None:
                self._folds.clear()
                self._stamps.clear()
            else:
                self._folds.pop(user, None)
                self._stamps.pop(user, None)


class NoFolds(RoutineFolds):
    """Fold every history again: for callers with nothing worth keeping between events."""

    def __init__(self) -> None:
        super().__init__(max_users=0)
