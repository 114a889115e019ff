"""How far behind the planner is, for /metrics and /readyz: events waiting in its queue, and
feed positions traininglog holds beyond the highest it applied. Measured now and then by one
worker thread, read by anyone: a readiness probe never waits on the broker or traininglog."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from planner.metrics import FEED_LAG, QUEUE_DEPTH

log = structlog.get_logger(__name__)

# How often the worker measures; the figures in /readyz are at most this old.
INTERVAL_S = 5.0


class Lag:
    def __init__(
        self,
        queue_depth: Callable[[], int | None],
        feed_head: Callable[[], int],
        applied_head: Callable[[], int],
    ) -> None:
        self._queue_depth = queue_depth
        self._feed_head = feed_head
        self._applied_head = applied_head
        self._lock = threading.Lock()
        self._figures: dict[str, Any] = {"queue_depth": None, "feed_lag": None}

    def measure(self) -> dict[str, Any]:
        """Measure every figure it can now; one that cannot be measured is None."""
        figures: dict[str, Any] = {"queue_depth": self._queue_depth()}
        try:
            head, applied = self._feed_head(), self._applied_head()
            figures.update(
                feed_head=head, applied_position=applied, feed_lag=max(head - applied, 0)
            )
        except Exception as err:  # traininglog or the database does not answer: no figure
            log.warning("lag.unmeasured", error=str(err)[:300])
            figures.update(feed_head=None, applied_position=None, feed_lag=None)
        figures["measured_at"] = datetime.now(UTC).isoformat()
        if figures["queue_depth"] is not None:
            QUEUE_DEPTH.set(figures["queue_depth"])
        if figures["feed_lag"] is not None:
            FEED_LAG.set(figures["feed_lag"])
        with self._lock:
            self._figures = figures
        return figures

    def figures(self) -> dict[str, Any]:
        """The last measurement: what /readyz reports beside its checks."""
        with self._lock:
            return dict(self._figures)
