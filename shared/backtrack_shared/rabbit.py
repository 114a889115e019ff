"""pika helpers: a publisher with publisher confirms and a consumer with manual acks.

pika is not thread-safe: each object here owns its connection and is used from one thread only
(the publisher's connection is driven by an I/O thread of its own, which alone touches it).
pika never reconnects by itself, so both reconnect with back-off after a connection error.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pika
import pika.exceptions
import pika.frame
import structlog
from pika.adapters.blocking_connection import BlockingChannel, ReturnedMessage
from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from backtrack_shared.topology import Topology

log = structlog.get_logger(__name__)
_R = TypeVar("_R")

CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    pika.exceptions.AMQPError,
    ConnectionError,
    OSError,
)


def connection_parameters(amqp_url: str, *, connection_name: str) -> pika.URLParameters:
    params = pika.URLParameters(amqp_url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 60
    params.socket_timeout = 5
    params.connection_attempts = 1
    params.client_properties = {"connection_name": connection_name}
    return params


def broker_user(params: pika.ConnectionParameters) -> str:
    """The broker user a connection authenticates as: what RabbitMQ checks `user_id` against."""
    credentials = params.credentials
    return str(getattr(credentials, "username", ""))


def broker_url_user(amqp_url: str) -> str:
    return broker_user(pika.URLParameters(amqp_url))


def broker_reachable(amqp_url: str) -> bool:
    """Open and close one connection: the readiness probe's view of the broker."""
    try:
        connection = pika.BlockingConnection(
            connection_parameters(amqp_url, connection_name="probe")
        )
    except CONNECTION_ERRORS:
        return False
    with contextlib.suppress(*CONNECTION_ERRORS):
        connection.close()
    return True


class QueueDepthProbe:
    """How many messages wait in some queues (ready, not yet delivered; all partitions of the
    planner's input, say), from passive declares on a connection of its own: pika is not
    thread-safe, so never the consumer's. Call it from one thread only. None while the broker or
    a queue cannot be reached."""

    def __init__(self, amqp_url: str, queues: Sequence[str], *, connection_name: str) -> None:
        self._params = connection_parameters(amqp_url, connection_name=connection_name)
        self._queues = list(queues)
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def __call__(self) -> int | None:
        try:
            if self._channel is None or not self._channel.is_open:
                self.close()
                self._connection = pika.BlockingConnection(self._params)
                self._channel = self._connection.channel()
            channel = self._channel
            return sum(
                int(channel.queue_declare(queue, passive=True).method.message_count)
                for queue in self._queues
            )
        except CONNECTION_ERRORS:  # a missing queue closes the channel: AMQPError too
            self.close()
            return None

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str
    headers: dict[str, Any] = field(default_factory=dict)

    def properties(self, user_id: str | None = None) -> BasicProperties:
        """With `user_id` the broker user publishing: RabbitMQ refuses the message unless it is
        the connection's own, so consumers can tell who published it."""
        return BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=self.message_id,
            type=self.routing_key,
            headers=self.headers,
            user_id=user_id,
        )


CONFIRM_TIMEOUT_S = 30.0  # a batch not confirmed by then fails, and is published again


class _Batch:
    """One publish call as the I/O thread tracks it: the delivery tags still unconfirmed, what
    came back unroutable, and how it ended."""

    def __init__(self) -> None:
        self.unconfirmed: set[int] = set()
        self.returned: list[ReturnedMessage] = []
        self.error: BaseException | None = None
        self.done = threading.Event()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


class _ConfirmingLink:
    """A SelectConnection and its channel in confirm mode, driven by an I/O thread of its own.

    `publish` hands a batch to that thread, which writes every message at once and counts the
    broker's acks as they come (any order, `multiple` or not); the caller waits for the last.
    Only the I/O thread touches pika objects; the caller only waits on the batch's event."""

    def __init__(self, params: pika.URLParameters, name: str) -> None:
        self._params = params
        self._user_id = broker_user(params)
        self._connection: pika.SelectConnection | None = None
        self._channel: Channel | None = None
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self._batch: _Batch | None = None
        self._last_tag = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._opened.wait(self._params.socket_timeout or 10):
            self.close()
            raise pika.exceptions.AMQPConnectionError("the broker did not open a channel in time")
        if self._open_error is not None:
            self.close()
            raise self._open_error

    @property
    def is_open(self) -> bool:
        channel = self._channel
        return self._thread.is_alive() and channel is not None and channel.is_open

    def publish(
        self, exchange: str, messages: Sequence[OutgoingMessage], mandatory: bool, timeout_s: float
    ) -> None:
        batch = _Batch()
        connection = self._connection
        assert connection is not None  # opened in __init__
        connection.ioloop.add_callback_threadsafe(
            lambda: self._send(batch, exchange, messages, mandatory)
        )
        deadline = time.monotonic() + timeout_s
        while not batch.done.wait(0.2):
            # A connection lost before the I/O thread took the batch never runs its callback.
            if not self._thread.is_alive():
                raise pika.exceptions.AMQPConnectionError("the connection to the broker closed")
            if time.monotonic() > deadline:
                raise pika.exceptions.AMQPConnectionError(
                    f"{len(batch.unconfirmed)} of {len(messages)} messages unconfirmed "
                    f"after {timeout_s:.0f} s"
                )
        if batch.error is not None:
            raise batch.error

    def close(self) -> None:
        connection = self._connection
        if connection is not None and self._thread.is_alive():
            with contextlib.suppress(*CONNECTION_ERRORS, RuntimeError):
                connection.ioloop.add_callback_threadsafe(self._close_in_loop)
        self._thread.join(timeout=10)

    # Everything below runs in the I/O thread.

    def _run(self) -> None:
        try:
            self._connection = pika.SelectConnection(
                self._params,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_connection_closed,
            )
            self._connection.ioloop.start()
        except Exception as err:  # handed to the caller, who raises it
            self._on_open_error(None, err)

    def _on_connection_open(self, connection: pika.BaseConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Channel) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: self._ready(channel))

    def _ready(self, channel: Channel) -> None:
        self._channel = channel
        self._opened.set()

    def _on_open_error(self, _connection: object, error: BaseException | str) -> None:
        self._open_error = (
            error
            if isinstance(error, BaseException)
            else pika.exceptions.AMQPConnectionError(error)
        )
        self._opened.set()
        if self._connection is not None:
            self._connection.ioloop.stop()

    def _on_channel_closed(self, _channel: Channel, reason: BaseException) -> None:
        self._fail(reason)
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_connection_closed(self, connection: pika.BaseConnection, reason: BaseException) -> None:
        self._fail(reason)
        self._opened.set()
        connection.ioloop.stop()

    def _close_in_loop(self) -> None:
        connection = self._connection
        if connection is not None and (connection.is_open or connection.is_opening):
            connection.close()
        elif connection is not None:
            connection.ioloop.stop()

    def _fail(self, error: BaseException) -> None:
        if self._batch is not None:
            self._batch.fail(error)
            self._batch = None

    def _send(
        self, batch: _Batch, exchange: str, messages: Sequence[OutgoingMessage], mandatory: bool
    ) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            batch.fail(pika.exceptions.ChannelWrongStateError("the channel is closed"))
            return
        if not messages:
            batch.done.set()
            return
        self._batch = batch
        for message in messages:
            channel.basic_publish(
                exchange,
                message.routing_key,
                message.body,
                message.properties(self._user_id),
                mandatory=mandatory,
            )
            self._last_tag += 1  # the broker numbers a confirm-mode channel's publishes from 1
            batch.unconfirmed.add(self._last_tag)

    def _on_return(
        self,
        _channel: Channel,
        method: Basic.Return,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        # With `mandatory`, a message no queue took comes back before its ack.
        if self._batch is not None:
            self._batch.returned.append(ReturnedMessage(method, properties, body))

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        batch = self._batch
        if batch is None:
            return
        method = frame.method
        if isinstance(method, Basic.Nack):
            returned = [ReturnedMessage(method, BasicProperties(), b"")]
            self._fail(pika.exceptions.NackError(returned))
            return
        tag = method.delivery_tag
        batch.unconfirmed -= (
            {t for t in batch.unconfirmed if t <= tag} if method.multiple else {tag}
        )
        if batch.unconfirmed:
            return
        self._batch = None
        if batch.returned:
            batch.fail(pika.exceptions.UnroutableError(batch.returned))
        else:
            batch.done.set()


class PikaConfirmedPublisher:
    """Publishes persistent messages a batch at a time and returns only once the broker
    confirmed every message of the batch: all are written at once and their confirms counted as
    they arrive (a window as wide as the batch), instead of one round trip per message. A
    batch fails as a whole (a nack, a returned message, the connection lost, no confirm within
    `confirm_timeout_s`): its caller publishes it again, and consumers drop what they had.

    The topology is declared on connect (all of it, or what `declare` declares: traininglog's
    broker user may declare the events exchange only). With `mandatory` (events: the planner's
    queue must get them), a message no queue is bound for is returned by the broker and raises
    here instead of vanishing; without it (routine updates: whoever subscribes), it is dropped by
    the broker. Every message carries the connection's broker user as its `user_id`, which
    RabbitMQ validates: consumers tell from it who published.
    """

    def __init__(
        self,
        amqp_url: str,
        topology: Topology,
        *,
        connection_name: str,
        mandatory: bool = True,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
        declare: Callable[[BlockingChannel], None] | None = None,
    ) -> None:
        self._mandatory = mandatory
        self._confirm_timeout_s = confirm_timeout_s
        self._params = connection_parameters(amqp_url, connection_name=connection_name)
        self._name = connection_name
        self._declare = topology.declare if declare is None else declare
        self._link: _ConfirmingLink | None = None

    def _ensure_link(self) -> _ConfirmingLink:
        if self._link is None or not self._link.is_open:
            self.close()
            declaring = pika.BlockingConnection(self._params)
            try:
                self._declare(declaring.channel())
            finally:
                with contextlib.suppress(*CONNECTION_ERRORS):
                    declaring.close()
            self._link = _ConfirmingLink(self._params, name=f"{self._name}-io")
        return self._link

    def publish(self, exchange: str, messages: Iterable[OutgoingMessage]) -> int:
        """Publish in order and wait for every confirm; raise if any message was nacked or
        returned, or the connection failed. Return how many were published."""
        batch = list(messages)
        link = self._ensure_link()
        try:
            link.publish(exchange, batch, self._mandatory, self._confirm_timeout_s)
        except BaseException:
            self.close()  # start the next batch on a fresh channel: no stray confirms
            raise
        return len(batch)

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()


@dataclass(frozen=True)
class IncomingMessage:
    body: bytes
    routing_key: str
    message_id: str | None
    headers: dict[str, Any]
    redelivered: bool
    # The `user_id` property, validated by RabbitMQ against the publisher's connection; None
    # when the publisher set none. And the exchange it was published to.
    user_id: str | None = None
    exchange: str = ""


class PoisonMessage(Exception):
    """Raised by a handler for a message no retry can apply: it is dead-lettered at once."""


class TransientFailure(Exception):
    """Raised by a handler when the failure is not the message's fault (its database does not
    answer, say): the message is kept in hand and retried with back-off, never returned to the
    queue, so the outage does not spend the message's deliveries towards the delivery limit."""


# Set on the copy a consumer dead-letters, beside the message's own headers.
ERROR_HEADER = "x-backtrack-error"
ROUTING_KEY_HEADER = "x-backtrack-routing-key"
ATTEMPTS_HEADER = "x-backtrack-attempts"
PUBLISHED_BY_HEADER = "x-backtrack-published-by"


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


def incoming_message(
    method: Basic.Deliver, properties: BasicProperties, body: bytes
) -> IncomingMessage:
    """What a delivery holds, as consumers read it."""
    return IncomingMessage(
        body=body,
        routing_key=method.routing_key,
        message_id=properties.message_id,
        headers=dict(properties.headers or {}),
        redelivered=bool(method.redelivered),
        user_id=properties.user_id,
        exchange=method.exchange,
    )


def _attempt(properties: BasicProperties) -> int:
    """Which delivery of the message this is, from the quorum queue's count of earlier ones."""
    return int((properties.headers or {}).get("x-delivery-count", 0)) + 1
