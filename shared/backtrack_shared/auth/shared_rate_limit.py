"""Per-client rate limits on writes kept in Redis, so that every traininglog process behind one
address spends from the same limit (the `limits` package's moving window, atomic in Redis).

The per-process token bucket (rate_limit.RateLimiter) lets a client spend `burst` events at once
and then `rate_per_s` a second. The moving window here allows the same: at most `burst` events
in any `burst / rate_per_s` seconds. If Redis does not answer, writes are let through (logged):
the limit protects the service, and refusing every write would be the outage it guards against.
"""

import math
import time

import structlog
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = structlog.get_logger(__name__)


class SharedRateLimiter:
    def __init__(self, storage_url: str, rate_per_s: float, burst: int, *, namespace: str) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._window = RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate_per_s)))
        self._namespace = namespace  # keys of one deployment (and of one test) apart

    def take(self, client_id: str, cost: int = 1) -> float:
        """Spend `cost` events of the client's limit and return 0, or spend nothing and return
        how many seconds to wait before the window has room again."""
        try:
            if self._limiter.hit(
                self._window, "traininglog", self._namespace, client_id, cost=cost
            ):
                return 0.0
            stats = self._limiter.get_window_stats(
                self._window, "traininglog", self._namespace, client_id
            )
        except Exception as err:  # redis-py's errors, whatever the storage says
            log.warning("rate_limit.storage_unavailable", error=str(err)[:300])
            return 0.0
        return max(stats.reset_time - time.time(), 0.001)
