"""Turns routine messages into deliveries and sends what is due, each on a worker of its own:
a slow or dead endpoint holds one worker until its timeout, never the others. Any number of
dispatchers share one database: each claims what it tries (a claim lasts `claim_s`, longer
than a try), so that every try is made by one of them alone."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import structlog

from planner.metrics import WEBHOOK_TRIES, WEBHOOK_VERIFICATIONS
from planner.webhooks.policy import (
    ROUTINE_UPDATED,
    Backoff,
    delivery_id,
    encode,
    notification,
)
from planner.webhooks.sender import Answer
from planner.webhooks.store import Delivery, Endpoint, SqlAlchemyWebhookStore

log = structlog.get_logger(__name__)

# How much longer than a POST's timeout a claim lasts: a dispatcher killed in the middle of a try
# has it tried again by another once its claim lapses, the timeout and this margin later.
CLAIM_MARGIN_S = 60.0


class Sender(Protocol):
    def post(self, url: str, secret: str, message_id: str, body: str) -> Answer: ...

    def verify(self, url: str, secret: str) -> Answer: ...


class WebhookDispatcher:
    def __init__(
        self,
        store: SqlAlchemyWebhookStore,
        sender: Sender,
        *,
        link_base: str,
        backoff: Backoff | None = None,
        workers: int = 8,
        claim_s: float = 10.0 + CLAIM_MARGIN_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sender = sender
        self._link_base = link_base
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._workers = workers
        self._claim_s = claim_s
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="webhook")
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def accept(self, message_id: str, message: dict[str, Any]) -> int:
        """Deliveries for a routine message, one per endpoint of its tenant that wants it (the
        tenant's own endpoints only). Returns how many endpoints it is for."""
        if message.get("type") != ROUTINE_UPDATED:
            return 0
        tenant = message["tenant"]
        body = encode(notification(message, self._link_base))
        subscribers = self._store.subscribers(tenant, ROUTINE_UPDATED)
        self._store.add_deliveries(
            [
                {
                    "delivery_id": delivery_id(message_id, tenant, e.endpoint_id),
                    "client_id": tenant,
                    "endpoint_id": e.endpoint_id,
                    "user_id": message["user_id"],
                    "event_type": ROUTINE_UPDATED,
                    "body": body,
                }
                for e in subscribers
            ]
        )
        return len(subscribers)

    def run_once(self) -> int:
        """Claim and start verifying endpoints and sending deliveries that are due, as many
        deliveries as there are idle workers. Returns how many were started; it does not wait
        for them."""
        now = self._clock()
        started = 0
        for endpoint, attempts in self._store.claim_verifications(now, self._claim_s):
            started += self._start(
                f"verify:{endpoint.client_id}/{endpoint.endpoint_id}",
                self._verify,
                endpoint,
                attempts,
            )
        with self._lock:
            idle = self._workers - len(self._in_flight)
        if idle > 0:
            for delivery, endpoint in self._store.claim_due(now, idle, self._claim_s):
                started += self._start(delivery.delivery_id, self._deliver, delivery, endpoint)
        return started

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database away: log, and try again at the next poll
                log.exception("webhooks.dispatch_failed")
            stop.wait(poll_s)
        self.close()

    def close(self) -> None:
        """Wait for the tries under way to end."""
        self._pool.shutdown(wait=True)

    def _start(self, key: str, work: Callable[..., None], *args: Any) -> int:
        with self._lock:
            if key in self._in_flight:
                return 0
            self._in_flight.add(key)

        def run() -> None:
            try:
                work(*args)
            except Exception:
                log.exception("webhooks.try_failed", key=key)
            finally:
                with self._lock:
                    self._in_flight.discard(key)

        self._pool.submit(run)
        return 1

    def _verify(self, endpoint: Endpoint, attempts: int) -> None:
        answer = self._sender.verify(endpoint.url, endpoint.secret)
        now = self._clock()
        delay = self._backoff.delays_s[min(attempts, len(self._backoff.delays_s) - 1)]
        self._store.verification_tried(endpoint, verified=answer.ok, now=now, next_at=now + delay)
        WEBHOOK_VERIFICATIONS.labels("verified" if answer.ok else "refused").inc()
        log.info(
            "webhooks.verification",
            client_id=endpoint.client_id,
            endpoint_id=endpoint.endpoint_id,
            verified=answer.ok,
            error=answer.error,
        )

    def _deliver(self, delivery: Delivery, endpoint: Endpoint) -> None:
        answer = self._sender.post(
            endpoint.url, endpoint.secret, delivery.delivery_id, delivery.body
        )
        now = self._clock()
        next_at = None if answer.ok else self._backoff.next_attempt(delivery.attempts + 1, now)
        self._store.tried(
            delivery.delivery_id, delivered=answer.ok, error=answer.error, next_at=next_at
        )
        dead = not answer.ok and next_at is None
        WEBHOOK_TRIES.labels("delivered" if answer.ok else "dead" if dead else "retry").inc()
        log.info(
            "webhooks.delivery",
            delivery_id=delivery.delivery_id,
            client_id=delivery.client_id,
            endpoint_id=delivery.endpoint_id,
            delivered=answer.ok,
            dead=dead,
            error=answer.error,
        )
