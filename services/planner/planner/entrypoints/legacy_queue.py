"""Moving the single queue of the planners before partitions into the partition queues.

The old queue is unbound first, so nothing new enters it; each message it holds is then put back
through the planner's requeue exchange (which feeds the partition exchange), confirmed before it
is acknowledged, so none is lost; a message moved twice (a planner killed between the confirm
and the ack) is applied once, as every event is deduplicated by its id. The queue is deleted
once empty. Only messages the planner would have applied are moved: republished under the
planner's own broker user, anyone else's would be laundered, so those are dropped and counted.
"""

import contextlib
import json

import pika
import pika.exceptions
import structlog

from backtrack_shared.broker.connection import CONNECTION_ERRORS, broker_user
from backtrack_shared.broker.messages import incoming_message
from backtrack_shared.broker.topology import PARTITION_KEY_HEADER, Topology, partition_key
from planner.entrypoints.consumer import Publishers, drop_untrusted

log = structlog.get_logger(__name__)

NOT_FOUND = 404
IDLE_S = 2.0  # an empty (or still consumed) old queue yields nothing for this long: done


def _partition_key(headers: dict[str, object], body: bytes) -> str | None:
    """The user's partition key: traininglog's headers name the user, else the envelope does."""
    if isinstance(headers.get(PARTITION_KEY_HEADER), str | bytes):
        return None  # set already
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    tenant = headers.get("tenant", document.get("tenant"))
    user_id = headers.get("user_id", document.get("user_id"))
    if isinstance(tenant, str) and isinstance(user_id, str):
        return partition_key(tenant, user_id)
    return None  # not an envelope: hashed as it is, and dead-lettered by whoever gets it


def drain_legacy_queue(
    params: pika.ConnectionParameters, topology: Topology, publishers: Publishers
) -> bool:
    """Move what the old queue holds into the partitions; True once there is no old queue."""
    queue = topology.legacy_planner_queue
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        try:
            channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as err:
            if err.reply_code == NOT_FOUND:
                return True
            raise
        topology.declare(channel)  # the partitions exist before anything moves there
        channel.queue_unbind(queue, topology.events_exchange, routing_key="#")
        channel.queue_unbind(queue, topology.requeue_exchange)
        channel.confirm_delivery()
        me = broker_user(params)
        moved = dropped = 0
        for method, properties, body in channel.consume(queue, inactivity_timeout=IDLE_S):
            if method is None:
                break
            message = incoming_message(method, properties, body)
            if not publishers.trusted(message):
                drop_untrusted([message])
                channel.basic_ack(method.delivery_tag)
                dropped += 1
                continue
            headers = dict(message.headers)
            headers.pop("x-delivery-count", None)
            if (key := _partition_key(headers, body)) is not None:
                headers[PARTITION_KEY_HEADER] = key
            properties.headers = headers
            properties.user_id = me  # RabbitMQ refuses any user but the connection's
            channel.basic_publish(
                topology.requeue_exchange, method.routing_key, body, properties, mandatory=True
            )
            channel.basic_ack(method.delivery_tag)
            moved += 1
        channel.cancel()
        # A quorum queue takes no if-empty delete. Unbound, it receives nothing more; with no
        # consumer it holds nothing unacknowledged: empty then means empty for good.
        left = channel.queue_declare(queue, passive=True).method
        if left.message_count or left.consumer_count:
            # An older planner still consumes it (single active consumer: this one never got
            # a message), or it returned some meanwhile. Tried again at the next turn.
            log.warning(
                "legacy_queue.not_empty",
                queue=queue,
                messages=left.message_count,
                consumers=left.consumer_count,
                moved=moved,
            )
            return False
        channel.queue_delete(queue)
        log.info("legacy_queue.drained", queue=queue, moved=moved, dropped=dropped)
        return True
    finally:
        with contextlib.suppress(*CONNECTION_ERRORS):
            if connection.is_open:
                connection.close()
