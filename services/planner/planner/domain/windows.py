"""Rolling windows over what a fold has seen, read in the time of the window, not of the history.

The fold appends pain reports, loads, flares and sessions in the order of the history, so each
list is already sorted by its instant: a window of it (the last 7 or 28 days, the week before)
is a slice found by bisection, and costs the same at event 6 as at event 600. The slice holds
exactly the items a scan of the whole list would pick, in the same order, so sums over it are
the same to the last bit. Should an item ever be appended out of order, the list remembers it
and every window falls back to the scan.
"""

import bisect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Generic, SupportsIndex, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class TimeOrdered(list[T], Generic[T]):
    """A list of timed items, appended in time order, whose windows are slices.

    `instant` reads an item's time. Windows are half-open or closed as asked: `between(start,
    end)` is start <= at < end; `after(start, end)` is start < at <= end.
    """

    def __init__(self, instant: Callable[[T], datetime], items: Iterable[T] = ()) -> None:
        super().__init__()
        self.instant = instant
        self.in_order = True
        self._instants: list[datetime] = []  # each item's instant, for bisection
        self._memo: dict[object, object] = {}
        self._memo_length = 0
        for item in items:
            self.append(item)

    def append(self, item: T) -> None:
        at = self.instant(item)
        if self.in_order and self._instants and at < self._instants[-1]:
            self.in_order = False
        self._instants.append(at)
        super().append(item)

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def _only_appended(self, *_: object, **__: object) -> None:
        raise TypeError("a TimeOrdered list is only appended to")

    insert = __setitem__ = __delitem__ = __iadd__ = _only_appended  # type: ignore[assignment]
    pop = remove = clear = sort = reverse = _only_appended  # type: ignore[assignment]

    def memo(self, key: object, compute: Callable[[], R]) -> R:
        """`compute()`, remembered under `key` for as long as nothing is appended: the rules ask
        the same window many times an event (each exercise's gate reads the pain trend)."""
        if self._memo_length != len(self):
            self._memo = {}
            self._memo_length = len(self)
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(R, self._memo[key])

    def __reduce_ex__(self, protocol: SupportsIndex):  # type: ignore[no-untyped-def]
        # copy.deepcopy (D14's preview) rebuilds it item by item, keeping what it knew.
        return (_rebuild, (self.instant, list(self), self.in_order))

    def between(self, start: datetime, end: datetime) -> list[T]:
        """The items with start <= instant < end, in list order."""
        if not self.in_order:
            return [x for x in self if start <= self.instant(x) < end]
        low = bisect.bisect_left(self._instants, start)
        high = bisect.bisect_left(self._instants, end, lo=low)
        return self[low:high]

    def after(self, start: datetime, end: datetime) -> list[T]:
        """The items with start < instant <= end, in list order."""
        if not self.in_order:
            return [x for x in self if start < self.instant(x) <= end]
        low = bisect.bisect_right(self._instants, start)
        high = bisect.bisect_right(self._instants, end, lo=low)
        return self[low:high]

    def since(self, start: datetime) -> list[T]:
        """The items with instant >= start, in list order."""
        if not self.in_order:
            return [x for x in self if self.instant(x) >= start]
        return self[bisect.bisect_left(self._instants, start) :]

    def first_instant(self) -> datetime | None:
        """The earliest instant held (None when empty)."""
        if not self:
            return None
        if self.in_order:
            return self.instant(self[0])
        return min(self.instant(x) for x in self)


def load_at(load: tuple[datetime, float]) -> datetime:
    """The instant of a (when, load) pair: B4's loads."""
    return load[0]


def _rebuild(instant: Callable[[T], datetime], items: list[T], in_order: bool) -> "TimeOrdered[T]":
    rebuilt = TimeOrdered(instant, items)
    rebuilt.in_order = rebuilt.in_order and in_order
    return rebuilt
