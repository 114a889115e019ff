"""Turns routine messages into deliveries and sends what is due, each on a worker of its own:
a slow or dead endpoint holds one worker until its timeout, never the others."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import structlog

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sender = sender
        self._link_base = link_base
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._workers = workers
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
        """Start verifying endpoints and sending deliveries that are due and not in flight.
        Returns how many were started; it does not wait for them."""
        now = self._clock()
        started = 0
        for endpoint, attempts in self._store.unverified_due(now):
            started += self._start(
                f"verify:{endpoint.client_id}/{endpoint.endpoint_id}",
                self._verify,
                endpoint,
                attempts,
            )
        with self._lock:
            busy = tuple(self._in_flight)
        for delivery, endpoint in self._store.due(now, self._workers * 4, busy):
            started += self._start(delivery.delivery_id, self._deliver, delivery, endpoint)
        return started

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database away: log, and try again at the next poll
                log.exception("webhooks.dispatch_failed")
            stop.wait(poll_s)
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
        log.info(
            "webhooks.delivery",
            delivery_id=delivery.delivery_id,
            client_id=delivery.client_id,
            endpoint_id=delivery.endpoint_id,
            delivered=answer.ok,
            dead=not answer.ok and next_at is None,
            error=answer.error,
        )
