"""The planner's memory of each recent user's fold, so an event arriving in order costs one step
of the rules instead of a reread and refold of the user's whole history.

A fold is checked out for one application and checked back in only after its transaction
committed: a fold never holds an event the database does not. Bounded: the least recently used
users are forgotten, and folded again from the database when they come back.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from backtrack_shared.user_key import UserKey
from planner.domain import LoggedEvent
from planner.domain.rulebooks import Fold
from planner.service_layer.versions import fold_with, user_of

# A 12-week history's fold holds about 0.75 MiB (bench/): 256 users keep it under ~200 MiB.
DEFAULT_MAX_USERS = 256  # PLANNER_FOLD_CACHE_USERS in the service


class RoutineFolds:
    def __init__(self, max_users: int = DEFAULT_MAX_USERS) -> None:
        self._max_users = max_users
        self._folds: OrderedDict[UserKey, Fold] = OrderedDict()
        self._lock = threading.Lock()

    def check_out(
        self,
        event: LoggedEvent,
        history: Callable[[], Sequence[LoggedEvent]],
        *,
        kept: Fold | None = None,
    ) -> Fold:
        """The user's fold with `event` taken on (`kept`: one already checked out for this user).
        Until checked in, nobody else has it."""
        if kept is None:
            with self._lock:
                kept = self._folds.pop(user_of(event), None)
        return fold_with(kept, event, history)

    def check_in(self, user: UserKey, fold: Fold) -> None:
        with self._lock:
            self._folds[user] = fold
            self._folds.move_to_end(user)
            while len(self._folds) > self._max_users:
                self._folds.popitem(last=False)

    def forget(self, user: UserKey | None = None) -> None:
        """After a rebuild: what is kept no longer matches the database."""
        with self._lock:
            if user is None:
                self._folds.clear()
            else:
                self._folds.pop(user, None)


class NoFolds(RoutineFolds):
    """Fold every history again: for callers with nothing worth keeping between events."""

    def __init__(self) -> None:
        super().__init__(max_users=0)
