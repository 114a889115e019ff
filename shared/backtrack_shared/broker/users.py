"""Who may do what on the broker: each service's broker user, and a tenant's subscriber.

RabbitMQ grants a user three regular expressions per vhost over resource names (configure:
declare and delete; write: publish to an exchange, bind to a queue; read: consume or get from a
queue, bind from an exchange), and per topic exchange two more over routing keys (write: the
keys it may publish with; read: the binding keys it may bind with). The expressions here name
exactly what each declares, writes and reads in a namespace (Topology), nothing more:

- traininglog declares and publishes to the events exchange, with event types as keys.
- the planner declares the events exchange too (to bind to it whichever starts first), its
  partition exchange and partition queues, its dead-letter exchange and queue, its requeue
  exchange and the routines exchange; it publishes routine updates (`routine.updated.<tenant>`),
  dead letters and requeues, reads its queues, and binds its partition exchange to every event
  type (`#`) and nothing else. It may still read, unbind and delete the single queue of before
  partitions (`<namespace>.planner.events`), to move what it holds into the partitions.
- a tenant's subscriber declares queues under its own prefix and may bind them to the routines
  exchange with its own routing key alone: another tenant's routines are refused by the broker.

Pure: no broker here (backtrack_shared.broker.setup applies these).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backtrack_shared.auth.keys import CLIENT_ID_PATTERN
from backtrack_shared.broker.topology import ROUTINE_UPDATED, Topology, routine_routing_key
from backtrack_shared.contracts.registry import EVENT_TYPES

NOTHING = "^$"  # matches no resource name (the default exchange is checked as amq.default)


def exactly(names: Iterable[str], *patterns: str) -> str:
    """A regular expression matching these names (and these patterns) and no other."""
    alternatives = [re.escape(name) for name in sorted(set(names))] + list(patterns)
    return "^(" + "|".join(alternatives) + ")$"


def partition_queues(topology: Topology) -> str:
    """Every partition queue, whatever their count: PLANNER_PARTITIONS may grow later."""
    return re.escape(topology.partition_queue(0)).removesuffix("0") + "[0-9]+"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


@dataclass(frozen=True)
class TopicPermission:
    exchange: str  # the exchange's name, as RabbitMQ takes it (not an expression)
    write: str
    read: str


@dataclass(frozen=True)
class BrokerUser:
    name: str
    permissions: Permissions
    topic_permissions: tuple[TopicPermission, ...]
    vhost: str = "/"

    def definitions(self) -> dict[str, list[dict[str, Any]]]:
        """This user's permissions as RabbitMQ definitions (the password is added apart)."""
        return {
            "users": [{"name": self.name, "tags": []}],
            "permissions": [
                {
                    "user": self.name,
                    "vhost": self.vhost,
                    "configure": self.permissions.configure,
                    "write": self.permissions.write,
                    "read": self.permissions.read,
                }
            ],
            "topic_permissions": [
                {
                    "user": self.name,
                    "vhost": self.vhost,
                    "exchange": topic.exchange,
                    "write": topic.write,
                    "read": topic.read,
                }
                for topic in self.topic_permissions
            ],
        }


def traininglog_user(
    name: str,
    topology: Topology,
    *,
    vhost: str = "/",
    event_types: Iterable[str] = EVENT_TYPES,
) -> BrokerUser:
    events = exactly([topology.events_exchange])
    return BrokerUser(
        name,
        Permissions(configure=events, write=events, read=NOTHING),
        (TopicPermission(topology.events_exchange, write=exactly(event_types), read=NOTHING),),
        vhost,
    )


def planner_user(name: str, topology: Topology, *, vhost: str = "/") -> BrokerUser:
    t = topology
    partitions = partition_queues(t)
    return BrokerUser(
        name,
        Permissions(
            configure=exactly(
                [
                    t.events_exchange,
                    t.partition_exchange,
                    t.legacy_planner_queue,
                    t.dead_letter_exchange,
                    t.dead_letter_queue,
                    t.requeue_exchange,
                    t.routines_exchange,
                    t.webhook_queue,
                ],
                partitions,
            ),
            # Publishing to an exchange; binding to a queue or exchange (its own).
            write=exactly(
                [
                    t.routines_exchange,
                    t.dead_letter_exchange,
                    t.requeue_exchange,
                    t.partition_exchange,
                    t.legacy_planner_queue,
                    t.dead_letter_queue,
                    t.webhook_queue,
                ],
                partitions,
            ),
            # Reading its queues; binding from an exchange.
            read=exactly(
                [
                    t.legacy_planner_queue,
                    t.dead_letter_queue,
                    t.events_exchange,
                    t.partition_exchange,
                    t.dead_letter_exchange,
                    t.requeue_exchange,
                    t.routines_exchange,  # the webhook dispatcher binds its queue to it
                    t.webhook_queue,
                ],
                partitions,
            ),
        ),
        (
            TopicPermission(t.events_exchange, write=NOTHING, read=exactly(["#"])),
            TopicPermission(
                t.routines_exchange,
                # Tenants are client ids: one topic word each. The bare key is what routine
                # updates written to the outbox before tenant keys still carry.
                write=rf"^{re.escape(ROUTINE_UPDATED)}(\.[a-z0-9][a-z0-9-]*)?$",
                read=exactly([f"{ROUTINE_UPDATED}.*"]),  # the webhook dispatcher's binding
            ),
        ),
        vhost,
    )


def tenant_subscriber(
    name: str, topology: Topology, tenant: str, *, vhost: str = "/"
) -> BrokerUser:
    """A broker user for one tenant's app: its own queues, fed with its own routine updates."""
    if not CLIENT_ID_PATTERN.match(tenant):
        raise ValueError(f"not a client id: {tenant!r}")
    own_queues = "^" + re.escape(topology.subscriber_queue_prefix(tenant)) + ".+$"
    return BrokerUser(
        name,
        Permissions(
            configure=own_queues,
            write=own_queues,
            read=f"^({re.escape(topology.routines_exchange)}|"
            + re.escape(topology.subscriber_queue_prefix(tenant))
            + ".+)$",
        ),
        (
            TopicPermission(
                topology.routines_exchange,
                write=NOTHING,
                read=exactly([routine_routing_key(tenant)]),
            ),
        ),
        vhost,
    )
