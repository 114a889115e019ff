"""The messages the services publish and consume, the failures a handler raises for one, and
the headers a dead-lettered copy carries."""

from dataclasses import dataclass, field
from typing import Any

import pika
from pika.spec import Basic, BasicProperties


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
