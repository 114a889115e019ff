"""One writer of the projections at a time. The consumer, the periodic catch-up, a one-user
rebuild and a full rebuild each write a user's events and routine versions; run side by side
they could fold the same events twice or in another order than the feed's, and a full rebuild
that forgets everything first would lose what they wrote meanwhile."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ProjectionsBusy(Exception):
    """Another writer holds the projections (most often: a full rebuild is running)."""


class SingleWriter:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold the projections for the block: wait up to `wait_s` seconds (forever if None),
        then raise ProjectionsBusy."""
        if not self._lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise ProjectionsBusy("another writer holds the planner's projections")
        try:
            yield
        finally:
            self._lock.release()
