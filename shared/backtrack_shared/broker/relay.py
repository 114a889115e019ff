"""The outbox relay: publishes what a service committed to its outbox, then marks it sent.

The outbox row is written in the same transaction as the change it announces, so a broker that
is down delays messages but never loses them. A crash between publishing and marking sent
publishes the message again on restart: consumers deduplicate by message id.
"""

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from backtrack_shared.broker.connection import CONNECTION_ERRORS
from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.publisher import PikaConfirmedPublisher

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PendingMessage:
    outbox_id: int
    message: OutgoingMessage


class Outbox(Protocol):
    def turn(self) -> contextlib.AbstractContextManager[object]:
        """Held around each batch, from reading it to marking it sent: where several processes
        relay one outbox, while one holds it the others wait, then find what it sent gone
        (instead of sending it again)."""
        ...

    def pending(self, limit: int) -> Sequence[PendingMessage]: ...

    def mark_published(self, outbox_ids: Sequence[int]) -> None: ...


class Publisher(Protocol):
    def publish(self, exchange: str, messages: Sequence[OutgoingMessage]) -> int: ...

    def close(self) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        publisher: Publisher | PikaConfirmedPublisher,
        exchange: str,
        *,
        batch_size: int = 200,
        poll_interval_s: float = 0.5,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._exchange = exchange
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        self._wakeup = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        """Called after a commit that added to the outbox: publish now rather than at the next poll."""
        self._wakeup.set()

    def relay_once(self) -> int:
        """Publish one batch of pending messages; return how many were published and marked."""
        with self._outbox.turn():
            batch = self._outbox.pending(self._batch_size)
            if not batch:
                return 0
            self._publisher.publish(self._exchange, [pending.message for pending in batch])
            self._outbox.mark_published([pending.outbox_id for pending in batch])
        return len(batch)

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                relayed = self.relay_once()
                backoff = 0.2
            except CONNECTION_ERRORS as exc:
                self._publisher.close()
                log.warning("relay.broker_unavailable", error=repr(exc), retry_in_s=backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            except Exception:
                log.exception("relay.failed", retry_in_s=backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            if relayed < self._batch_size:
                self._wakeup.wait(self._poll_interval_s)
                self._wakeup.clear()
        self._publisher.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()
