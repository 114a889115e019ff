"""Connecting to RabbitMQ: the parameters every connection uses, the errors that mean the broker
is gone, and probes that open connections of their own (readiness, queue depths).

pika is not thread-safe: each object of this package owns its connection and is used from one
thread only (the publisher's connection is driven by an I/O thread of its own, which alone
touches it). pika never reconnects by itself, so publisher and consumer reconnect with back-off
after a connection error.
"""

import contextlib
from collections.abc import Sequence

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

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
