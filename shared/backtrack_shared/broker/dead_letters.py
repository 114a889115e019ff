"""Reading and requeueing the planner's dead letters: what failed, why, and putting it back."""

import contextlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pika

from backtrack_shared.broker.connection import CONNECTION_ERRORS, broker_user, connection_parameters
from backtrack_shared.broker.messages import ATTEMPTS_HEADER, ERROR_HEADER, ROUTING_KEY_HEADER
from backtrack_shared.broker.topology import PARTITION_KEY_HEADER, Topology, partition_key
from backtrack_shared.user_key import UserKey


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    routing_key: str
    error: str
    attempts: int
    body: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "routing_key": self.routing_key,
            "attempts": self.attempts,
            "error": self.error,
        }

    def document(self) -> dict[str, Any]:
        try:
            body: Any = json.loads(self.body)
        except ValueError:
            body = self.body.decode(errors="replace")
        return {**self.summary(), "body": body}


class PikaDeadLetters:
    def __init__(self, amqp_url: str, topology: Topology) -> None:
        self._params = connection_parameters(amqp_url, connection_name="dead-letters")
        self._topology = topology

    def list(self) -> list[DeadLetter]:
        """Every dead letter, oldest first; they all stay in the queue."""
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()
            self._topology.declare(channel)
            letters: list[DeadLetter] = []
            while True:
                method, properties, body = channel.basic_get(self._topology.dead_letter_queue)
                if method is None:
                    return letters
                letters.append(_letter(method, properties, body))
        finally:  # closing the channel returns every unacknowledged letter to the queue
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()

    def purge_users(self, users: Collection[UserKey]) -> int:
        """Delete every dead letter of these users (erased: nothing of theirs may stay
        readable); how many. The others go back to the queue, in their order. A letter that
        names the user id but no tenant is theirs too, as is every letter of the user id for an
        erasure that names no tenant (made before ids were per client)."""
        wanted: dict[str, set[str]] = {}
        for user in users:
            wanted.setdefault(user.user_id, set()).add(user.tenant)
        if not wanted:
            return 0
        connection = pika.BlockingConnection(self._params)
        purged = 0
        try:
            channel = connection.channel()
            self._topology.declare(channel)
            queue = self._topology.dead_letter_queue
            waiting = channel.queue_declare(queue, passive=True).method.message_count
            for _ in range(waiting):
                method, properties, body = channel.basic_get(queue)
                if method is None:
                    break
                tenant, user_id = _owner_of(properties, body)
                tenants = wanted.get(user_id or "", set())
                if tenants and (tenant is None or tenant in tenants or "" in tenants):
                    channel.basic_ack(method.delivery_tag)
                    purged += 1
            return purged
        finally:  # closing the channel returns the letters not acknowledged
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()

    def requeue(self, message_ids: set[str] | None = None) -> int:
        """Publish these dead letters (all of them with None) back to the planner's queue through
        its requeue exchange, under their first routing key and with this connection's broker
        user as `user_id` (the planner takes its own requeues); return how many. The planner
        applies each at most once."""
        connection = pika.BlockingConnection(self._params)
        requeued = 0
        try:
            channel = connection.channel()
            self._topology.declare(channel)
            channel.confirm_delivery()
            queue = self._topology.dead_letter_queue
            # Only the letters there now: one requeued may fail again and come back meanwhile.
            waiting = channel.queue_declare(queue, passive=True).method.message_count
            for _ in range(waiting):
                method, properties, body = channel.basic_get(queue)
                if method is None:
                    break
                letter = _letter(method, properties, body)
                if message_ids is not None and letter.message_id not in message_ids:
                    continue
                headers = {
                    key: value
                    for key, value in (properties.headers or {}).items()
                    if not key.startswith(("x-backtrack-", "x-death", "x-delivery-count"))
                }
                tenant, user_id = _owner_of(properties, body)
                if PARTITION_KEY_HEADER not in headers and tenant and user_id:
                    # Dead-lettered before partition keys: its user's partition, as the others.
                    headers[PARTITION_KEY_HEADER] = partition_key(tenant, user_id)
                properties.headers = headers
                properties.user_id = broker_user(self._params)
                channel.basic_publish(
                    self._topology.requeue_exchange,
                    letter.routing_key,
                    body,
                    properties,
                    mandatory=True,
                )
                channel.basic_ack(method.delivery_tag)
                requeued += 1
            return requeued
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()


def _owner_of(properties: pika.BasicProperties, body: bytes) -> tuple[str | None, str | None]:
    """Whose letter this is, (tenant, user id): the headers traininglog sets, else the body's."""
    headers = properties.headers or {}
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {}

    def named(field: str) -> str | None:
        value = headers.get(field, document.get(field))
        return str(value) if isinstance(value, str | bytes) else None

    return named("tenant"), named("user_id")


def _letter(method: Any, properties: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    return DeadLetter(
        message_id=properties.message_id,
        routing_key=str(headers.get(ROUTING_KEY_HEADER, method.routing_key)),
        error=str(headers.get(ERROR_HEADER, "dead-lettered by the broker")),
        attempts=int(headers.get(ATTEMPTS_HEADER, 0)),
        body=body,
    )
