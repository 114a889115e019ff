"""A consumer with manual acks: one queue, a bounded prefetch, batches, retries of transient
failures and dead letters."""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from backtrack_shared.broker.connection import CONNECTION_ERRORS, connection_parameters
from backtrack_shared.broker.messages import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    PUBLISHED_BY_HEADER,
    ROUTING_KEY_HEADER,
    IncomingMessage,
    PoisonMessage,
    TransientFailure,
    incoming_message,
)
from backtrack_shared.broker.topology import Topology

log = structlog.get_logger(__name__)
_R = TypeVar("_R")


# One delivery as pika's consume generator yields it: (method, properties, body).
Delivery = tuple[Basic.Deliver, BasicProperties, bytes]

# Handles several messages at once. It returns, for each message in order, None when it was
# applied, or the PoisonMessage that refuses it; it raises for the batch as a whole.
BatchHandler = Callable[[Sequence[IncomingMessage]], Sequence[PoisonMessage | None]]

IDLE_S = 1.0  # how long an idle consumer waits for a message before it looks at its flags again


class _Interrupted(Exception):
    """Asked to stop or pause while a handler kept failing transiently."""


class PikaConsumer:
    """Consumes one queue with manual acks and a bounded prefetch until stop() is called.

    A message whose handler returns is acknowledged. One whose handler raises is retried until
    the queue's delivery limit, then dead-lettered with its error; a PoisonMessage at once.

    With `handle_batch` and a `batch_size` above 1, the messages already delivered, and those
    arriving within `batch_wait_s` of the first, up to `batch_size`, go to one call of
    `handle_batch`; when it returns, those it refused are dead-lettered and the others acked.
    If it raises anything but a TransientFailure, the same messages go one by one to `handle`,
    so only the message at fault is retried and dead-lettered while the others are applied.

    A TransientFailure is not counted: a quorum queue counts every return of a message (a nack
    with requeue, and before RabbitMQ 4.3 also a channel closed with the message unacked)
    towards its delivery limit, so a database outage longer than a few quick retries would
    dead-letter good messages. Instead the consumer holds the message or batch (unacked, with
    the rest of its prefetch) and calls the handler again after a back-off, sleeping through
    `BlockingConnection.sleep` so heartbeats keep being answered. It gives up only when asked
    to stop or pause: the connection closes and the broker requeues what it held.
    """

    def __init__(
        self,
        amqp_url: str,
        topology: Topology,
        queue: str,
        handle: Callable[[IncomingMessage], object],
        *,
        handle_batch: BatchHandler | None = None,
        batch_size: int = 1,
        batch_wait_s: float = 0.0,
        prefetch: int = 100,
        connection_name: str,
        max_backoff_s: float = 5.0,
        transient_backoff_s: float = 0.5,
    ) -> None:
        self._params = connection_parameters(amqp_url, connection_name=connection_name)
        self._topology = topology
        self._transient_backoff_s = transient_backoff_s
        self._queue = queue
        self._handle = handle
        self._handle_batch = handle_batch
        self._batch_size = batch_size if handle_batch is not None else 1
        self._batch_wait_s = batch_wait_s
        self._prefetch = prefetch
        self._max_backoff_s = max_backoff_s
        self._stopping = threading.Event()
        self._resumed = threading.Event()
        self._resumed.set()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            if not self._resumed.is_set():
                self._resumed.wait(0.5)
                continue
            try:
                self._consume()
                backoff = 0.2
            except CONNECTION_ERRORS as exc:
                self.connected.clear()
                log.warning("consumer.disconnected", error=repr(exc), retry_in_s=backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
        self.connected.clear()

    def _leaving(self) -> bool:
        return self._stopping.is_set() or not self._resumed.is_set()

    def _consume(self) -> None:
        self._connection = pika.BlockingConnection(self._params)
        try:
            self._channel = channel = self._connection.channel()
            self._topology.declare(channel)
            channel.basic_qos(prefetch_count=self._prefetch)
            channel.confirm_delivery()  # a dead-lettered copy is confirmed before the ack
            # Ends when the consumer is cancelled, by stop(), pause() or the broker; raises
            # ChannelClosedByBroker if the broker closes the channel.
            deliveries = channel.consume(self._queue, inactivity_timeout=IDLE_S)
            self.connected.set()
            log.info(
                "consumer.started",
                queue=self._queue,
                prefetch=self._prefetch,
                batch_size=self._batch_size,
            )
            for method, properties, body in deliveries:
                if self._leaving():
                    break
                if method is None:
                    continue  # nothing arrived for IDLE_S
                batch = [(method, properties, body), *self._more(channel, deliveries)]
                if not self._handle_deliveries(channel, batch):
                    break  # some left unsettled: the broker requeues them when we disconnect
        finally:
            self.connected.clear()
            connection, self._connection, self._channel = self._connection, None, None
            if connection.is_open:
                with contextlib.suppress(*CONNECTION_ERRORS):
                    connection.close()

    def _more(self, channel: BlockingChannel, deliveries: Iterator[Delivery]) -> list[Delivery]:
        """Whatever else was delivered, and what arrives within batch_wait_s, up to a batch."""
        more: list[Delivery] = []
        deadline = time.monotonic() + self._batch_wait_s
        empty_reads = 0
        while len(more) < self._batch_size - 1 and empty_reads < 2:
            if channel.get_waiting_message_count():
                more.append(next(deliveries))
                empty_reads = 0
                continue
            # Read what reached the socket meanwhile (pika reads 128 KiB at a time), returning
            # early on a delivery. A first call may return at once without reading, as pika
            # still had earlier deliveries to dispatch: nothing came only if a second brings none.
            remaining = max(0.0, deadline - time.monotonic())
            channel.connection.process_data_events(time_limit=remaining)
            if not channel.get_waiting_message_count():
                empty_reads += 1
        return more

    def _handle_deliveries(self, channel: BlockingChannel, batch: list[Delivery]) -> bool:
        """Handle the deliveries and settle each (ack, nack or dead-letter), in order; False if
        asked to stop or pause before all were settled."""
        if self._handle_batch is None or len(batch) == 1:
            return self._handle_one_by_one(channel, batch)
        messages = [incoming_message(*delivery) for delivery in batch]
        handle_batch = self._handle_batch
        try:
            refusals = self._until_not_transient(
                channel,
                lambda: handle_batch(messages),
                messages=len(messages),
                first_message_id=messages[0].message_id,
            )
        except _Interrupted:
            return False
        except Exception:
            log.exception("consumer.batch_failed", messages=len(messages), then="one by one")
            return self._handle_one_by_one(channel, batch)
        applied: list[int] = []
        for (method, properties, body), refusal in zip(batch, refusals, strict=True):
            if refusal is None:
                applied.append(method.delivery_tag)
            else:
                attempt = _attempt(properties)
                self._dead_letter(channel, method, properties, body, str(refusal), attempt)
        if applied:
            # Deliveries are settled in order and the consumer disconnects when it leaves one
            # unsettled, so every earlier delivery is settled already or is one of these.
            channel.basic_ack(max(applied), multiple=True)
        return True

    def _handle_one_by_one(self, channel: BlockingChannel, batch: list[Delivery]) -> bool:
        for delivery in batch:
            if self._leaving() or not self._handle_one(channel, *delivery):
                return False
        return True

    def _handle_one(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> bool:
        """Handle one delivery and settle it; False if asked to stop or pause meanwhile."""
        message = incoming_message(method, properties, body)
        attempt = _attempt(properties)
        try:
            self._until_not_transient(
                channel, lambda: self._handle(message), message_id=message.message_id
            )
        except _Interrupted:
            return False
        except PoisonMessage as err:
            self._dead_letter(channel, method, properties, body, str(err), attempt)
            return True
        except Exception as err:
            log.exception("consumer.handler_failed", message_id=message.message_id, attempt=attempt)
            if attempt >= self._topology.delivery_limit:
                self._dead_letter(channel, method, properties, body, repr(err), attempt)
            else:
                channel.basic_nack(method.delivery_tag, requeue=True)
            return True
        channel.basic_ack(method.delivery_tag)
        return True

    def _until_not_transient(
        self, channel: BlockingChannel, call: Callable[[], _R], **context: object
    ) -> _R:
        """Call until it returns or raises anything but TransientFailure; raise _Interrupted if
        asked to stop or pause meanwhile. Runs in the consumer's thread only."""
        backoff = self._transient_backoff_s
        while True:
            try:
                return call()
            except TransientFailure as err:
                if self._leaving():
                    raise _Interrupted() from err
                log.warning(
                    "consumer.handler_transient_failure",
                    **context,
                    error=repr(err.__cause__ or err),
                    retry_in_s=backoff,
                )
                channel.connection.sleep(backoff)  # answers heartbeats meanwhile
                backoff = min(backoff * 2, self._max_backoff_s)

    def _dead_letter(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
        error: str,
        attempt: int,
    ) -> None:
        """Publish a copy with its error to the dead-letter exchange, confirmed, then ack."""
        headers = {
            **(properties.headers or {}),
            ERROR_HEADER: error[:2000],
            ROUTING_KEY_HEADER: method.routing_key,
            ATTEMPTS_HEADER: attempt,
        }
        if properties.user_id is not None:
            # The consumer's own broker user publishes the copy, and RabbitMQ refuses a
            # user_id that is not the connection's: the publisher is kept as a header.
            headers[PUBLISHED_BY_HEADER] = properties.user_id
            properties.user_id = None
        properties.headers = headers
        channel.basic_publish(self._topology.dead_letter_exchange, "", body, properties)
        channel.basic_ack(method.delivery_tag)
        log.error(
            "consumer.dead_lettered",
            message_id=properties.message_id,
            error=error,
            attempts=attempt,
        )

    def pause(self) -> None:
        """Thread-safe: finish the messages in hand and disconnect until resume(). Messages the
        consumer held unacknowledged go back to the queue."""
        self._resumed.clear()
        self._stop_consuming()

    def resume(self) -> None:
        self._resumed.set()

    def stop(self) -> None:
        """Thread-safe: finish the messages in hand, then close."""
        self._stopping.set()
        self._resumed.set()
        self._stop_consuming()

    def _stop_consuming(self) -> None:
        connection, channel = self._connection, self._channel
        if connection is not None and channel is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.add_callback_threadsafe(channel.stop_consuming)


def _attempt(properties: BasicProperties) -> int:
    """Which delivery of the message this is, from the quorum queue's count of earlier ones."""
    return int((properties.headers or {}).get("x-delivery-count", 0)) + 1
