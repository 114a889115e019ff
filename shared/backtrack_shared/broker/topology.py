"""The RabbitMQ topology both services rely on, declared idempotently by whichever starts first.

traininglog publishes every stored event to a durable topic exchange, routing key = event type,
with the user's partition key (owner and user id) in a header. The events exchange feeds a
consistent-hash exchange (plugin `rabbitmq_consistent_hash_exchange`) that hashes that header over
`partitions` quorum queues: one user's events always land in the same queue. Each queue has a
single active consumer (its order holds), a delivery limit, and dead letters past it, so the
others keep flowing. Planner instances share the queues (planner.service_layer.partition_share).
The planner publishes routine changes to its own topic exchange for apps to subscribe to, routing
key `routine.updated.<tenant>`, so that a tenant's broker user can be limited to its own.

Each service declares what it owns (traininglog the events exchange; the planner everything it
reads and writes, and the events exchange too, to bind to it whichever starts first), so that
each broker user's permissions cover exactly that (backtrack_shared.broker.users).
"""

from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

ROUTINE_UPDATED = "routine.updated"
# The header the consistent-hash exchange hashes: one value per user, so one queue per user.
PARTITION_KEY_HEADER = "partition_key"


def partition_key(tenant: str, user_id: str) -> str:
    """A user's partition key: users are keyed by (owner, user id); a client id holds no '/',
    so the first '/' ends the owner and two users never share a key."""
    return f"{tenant}/{user_id}"


def routine_routing_key(tenant: str) -> str:
    """`routine.updated.<tenant>`: client ids hold no dot, so the tenant is one topic word."""
    return f"{ROUTINE_UPDATED}.{tenant}"


@dataclass(frozen=True)
class Topology:
    namespace: str = "backtrack"
    # Quorum queues count deliveries; RabbitMQ 3.10 has no default limit, 4.x defaults to 20.
    # Fixed, not a setting: every declarer must pass the same arguments or the broker refuses.
    delivery_limit: int = 5
    # How many partition queues the planner's input is hashed over (PLANNER_PARTITIONS).
    partitions: int = 8

    @property
    def events_exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def routines_exchange(self) -> str:
        return f"{self.namespace}.routines"

    @property
    def partition_exchange(self) -> str:
        return f"{self.namespace}.planner.partitions"

    def partition_queue(self, partition: int) -> str:
        return f"{self.namespace}.planner.events.{partition}"

    @property
    def partition_queues(self) -> list[str]:
        return [self.partition_queue(partition) for partition in range(self.partitions)]

    @property
    def legacy_planner_queue(self) -> str:
        """The single queue of the planners before partitions: drained into the partitions by
        the first planner that finds it (planner.entrypoints.legacy_queue), then deleted."""
        return f"{self.namespace}.planner.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.planner.dead-letter"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.namespace}.planner.dead-letters"

    @property
    def requeue_exchange(self) -> str:
        """Where the planner puts its dead letters back: bound to its queue alone, so that
        requeueing needs no write permission on the events exchange (traininglog's alone)."""
        return f"{self.namespace}.planner.requeue"

    @property
    def webhook_queue(self) -> str:
        """The webhook dispatcher's queue: every routine update, turned into deliveries."""
        return f"{self.namespace}.planner.webhooks"

    def subscriber_queue_prefix(self, tenant: str) -> str:
        """A tenant's own queues for its routine updates are named with this prefix."""
        return f"{self.namespace}.tenant.{tenant}."

    def planner_queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-single-active-consumer": True,
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
        }

    def declare_events(self, channel: BlockingChannel) -> None:
        """Declare the events exchange alone: what traininglog owns; safe to repeat."""
        channel.exchange_declare(self.events_exchange, exchange_type="topic", durable=True)

    def declare(self, channel: BlockingChannel) -> None:
        """Declare every exchange, queue and binding; safe to repeat. Partitions are added, never
        taken away: a smaller count leaves the higher queues bound, still hashed to."""
        self.declare_events(channel)
        channel.exchange_declare(self.routines_exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(self.dead_letter_exchange, exchange_type="fanout", durable=True)
        # Classic, not quorum: dead letters are read and put back by people, and a quorum
        # queue's delivery limit (20 by default since 4.0) would drop them after enough looks.
        channel.queue_declare(
            self.dead_letter_queue, durable=True, arguments={"x-queue-type": "classic"}
        )
        channel.queue_bind(self.dead_letter_queue, self.dead_letter_exchange)
        channel.exchange_declare(
            self.partition_exchange,
            exchange_type="x-consistent-hash",
            durable=True,
            arguments={"hash-header": PARTITION_KEY_HEADER},
        )
        channel.exchange_bind(self.partition_exchange, self.events_exchange, routing_key="#")
        channel.exchange_declare(self.requeue_exchange, exchange_type="fanout", durable=True)
        channel.exchange_bind(self.partition_exchange, self.requeue_exchange)
        for queue in self.partition_queues:
            channel.queue_declare(queue, durable=True, arguments=self.planner_queue_arguments())
            # The binding key is the queue's weight on the hash ring: every partition equal.
            channel.queue_bind(queue, self.partition_exchange, routing_key="1")

    def delete(self, channel: BlockingChannel) -> None:
        """Delete every queue and exchange of this namespace: for throwaway namespaces."""
        for queue in (
            *self.partition_queues,
            self.legacy_planner_queue,
            self.dead_letter_queue,
            self.webhook_queue,
        ):
            channel.queue_delete(queue)
        for exchange in (
            self.partition_exchange,
            self.events_exchange,
            self.routines_exchange,
            self.dead_letter_exchange,
            self.requeue_exchange,
        ):
            channel.exchange_delete(exchange)
