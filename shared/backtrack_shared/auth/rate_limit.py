"""Per-client rate limits on writes, pure: a token bucket per client, the clock passed in.

A client may spend `burst` events at once (a wearable syncing a day of data), then `rate_per_s`
a second on average. An event costs one token; a batch costs one per item. Each process keeps
its own buckets: with several replicas behind a balancer, a client's limit is per replica, unless
they share one in Redis (shared_rate_limit.SharedRateLimiter).
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    def take(self, client_id: str, cost: int = 1) -> float:
        """0 when the client may spend `cost` events now (spent), else the seconds to wait."""
        ...


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self._rate = rate_per_s
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client_id: str, cost: int = 1) -> float:
        """Spend `cost` tokens of the client's bucket and return 0, or spend nothing and return
        how many seconds to wait before the same request would pass."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                bucket = self._buckets[client_id] = _Bucket(float(self._burst), now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated_at) * self._rate)
            bucket.updated_at = now
            if cost <= bucket.tokens:
                bucket.tokens -= cost
                return 0.0
            missing = min(cost, self._burst) - bucket.tokens
            return missing / self._rate


def retry_after_header(wait_s: float) -> str:
    """Retry-After is in whole seconds: round up, so retrying then passes."""
    return str(max(1, math.ceil(wait_s)))
