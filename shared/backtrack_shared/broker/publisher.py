"""A publisher with publisher confirms: persistent messages a batch at a time, each batch
confirmed as a whole by the broker."""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import pika
import pika.exceptions
import pika.frame
from pika.adapters.blocking_connection import BlockingChannel, ReturnedMessage
from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from backtrack_shared.broker.connection import CONNECTION_ERRORS, broker_user, connection_parameters
from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.topology import Topology

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
