"""The webhook dispatcher's own queue on the routines exchange (pika): every `routine.updated`
message, acknowledged once its deliveries are stored. Its broker code stays here, apart from
the planner's consumer."""

import json
import threading
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from backtrack_shared.broker.topology import Topology

log = structlog.get_logger(__name__)

BINDING = "routine.updated.*"
RECONNECT_S = 2.0

Accept = Callable[[str, dict[str, Any]], object]


def declare(channel: BlockingChannel, topology: Topology) -> None:
    channel.exchange_declare(topology.routines_exchange, exchange_type="topic", durable=True)
    channel.queue_declare(
        topology.webhook_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(topology.webhook_queue, topology.routines_exchange, routing_key=BINDING)


class RoutinesQueueConsumer:
    """Consumes the dispatcher's queue until `stop` is set, reconnecting after a broker outage.
    A message is applied only when its AMQP `user_id` is the planner's broker user (RabbitMQ
    vouches for it), so nobody else can make the dispatcher notify."""

    def __init__(
        self, amqp_url: str, topology: Topology, accept: Accept, *, trusted_publisher: str
    ) -> None:
        self._params = pika.URLParameters(amqp_url)
        self._params.heartbeat = 30
        self._params.client_properties = {"connection_name": "planner-webhooks"}
        self._topology = topology
        self._accept = accept
        self._trusted = trusted_publisher

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._consume(stop)
            except (pika.exceptions.AMQPError, OSError) as err:
                log.warning("webhooks.broker_unavailable", error=str(err)[:300])
                stop.wait(RECONNECT_S)
            except Exception:  # the database away: the unacknowledged message comes again
                log.exception("webhooks.accept_failed")
                stop.wait(RECONNECT_S)

    def _consume(self, stop: threading.Event) -> None:
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()
            declare(channel, self._topology)
            channel.basic_qos(prefetch_count=50)
            for method, properties, body in channel.consume(
                self._topology.webhook_queue, inactivity_timeout=0.5
            ):
                if stop.is_set():
                    break
                if method is None:
                    continue
                self._handle(channel, method, properties, body)
        finally:
            if connection.is_open:
                connection.close()

    def _handle(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        if properties.user_id != self._trusted or not properties.message_id:
            log.warning("webhooks.untrusted_message_dropped", user_id=properties.user_id)
            channel.basic_ack(method.delivery_tag)
            return
        try:
            message = json.loads(body)
        except ValueError:
            log.warning("webhooks.unreadable_message_dropped", message_id=properties.message_id)
            channel.basic_ack(method.delivery_tag)
            return
        self._accept(properties.message_id, message)  # raises if the database is away: redelivered
        channel.basic_ack(method.delivery_tag)
