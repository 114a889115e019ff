"""Partitioned input against the real RabbitMQ and both databases: the consistent-hash exchange
sends each user to one queue, the claims share the queues, and the single queue of before
partitions is moved into them without losing or repeating a message."""

import json
import threading
import uuid
from collections import defaultdict

import pika
import pytest
from sqlalchemy import Engine, delete

from backtrack_shared.broker.connection import connection_parameters
from backtrack_shared.broker.consumer import PikaConsumer
from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.messages import IncomingMessage
from backtrack_shared.broker.topology import PARTITION_KEY_HEADER, Topology, partition_key
from planner.adapters.partition_claims import SqlAlchemyPartitionClaims
from planner.adapters.tables import planner_instances, planner_partition_claims
from planner.entrypoints.consumer import Publishers
from planner.entrypoints.legacy_queue import drain_legacy_queue
from planner.entrypoints.partitions import PartitionedConsumer
from tests.support.resources import delete_topology
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def partitioned(amqp_url: str):
    topology = Topology(namespace=f"test-{uuid.uuid4().hex[:12]}", partitions=8)
    yield topology
    delete_topology(amqp_url, topology)


def channel_of(
    amqp_url: str,
) -> tuple[pika.BlockingConnection, pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    return connection, connection.channel()


def consume_queue(channel, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    got = []
    for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.5):
        if method is None:
            break
        got.append((properties, body))
    channel.cancel()
    return got


def envelope(tenant: str, user_id: str, version: int) -> bytes:
    return json.dumps({"tenant": tenant, "user_id": user_id, "stream_version": version}).encode()


def test_every_user_lands_in_one_queue_keyed_by_owner_and_user_id(amqp_url, partitioned):
    connection, channel = channel_of(amqp_url)
    try:
        partitioned.declare(channel)
        channel.confirm_delivery()
        # Two owners with the same user ids: (owner, user id) is the key, not the user id.
        users = [(tenant, f"patient-{n}") for tenant in ("acme", "zeta") for n in range(40)]
        for version in (1, 2, 3):
            for tenant, user_id in users:
                channel.basic_publish(
                    partitioned.events_exchange,
                    "pain.reported",
                    envelope(tenant, user_id, version),
                    pika.BasicProperties(
                        headers={PARTITION_KEY_HEADER: partition_key(tenant, user_id)}
                    ),
                )
        queues_of: dict[tuple[str, str], set[str]] = defaultdict(set)
        versions_of: dict[tuple[str, str], list[int]] = defaultdict(list)
        for queue in partitioned.partition_queues:
            for _, body in consume_queue(channel, queue):
                document = json.loads(body)
                user = (document["tenant"], document["user_id"])
                queues_of[user].add(queue)
                versions_of[user].append(document["stream_version"])
    finally:
        connection.close()
    assert set(queues_of) == set(users)
    assert all(len(queues) == 1 for queues in queues_of.values())  # one queue per user
    assert all(versions == [1, 2, 3] for versions in versions_of.values())  # in order
    used = {queue for queues in queues_of.values() for queue in queues}
    assert len(used) == partitioned.partitions  # 80 users spread over all 8 queues
    # The same user id of two owners is not tied to one queue (at least one pair differs).
    assert any(
        queues_of[("acme", f"patient-{n}")] != queues_of[("zeta", f"patient-{n}")]
        for n in range(40)
    )


def test_the_old_single_queue_is_moved_into_the_partitions_and_deleted(amqp_url, partitioned):
    """Messages waiting in the queue of before partitions (traininglog's without a partition
    key, since it set none then) reach the partitions once each, the user's queue by the
    envelope; a stranger's message there is dropped, not laundered under the planner's name."""
    old = partitioned.legacy_planner_queue
    connection, channel = channel_of(amqp_url)
    try:
        # What planners declared before partitions: the events exchange into one queue.
        partitioned.declare_events(channel)
        channel.exchange_declare(partitioned.requeue_exchange, exchange_type="fanout", durable=True)
        channel.exchange_declare(
            partitioned.dead_letter_exchange, exchange_type="fanout", durable=True
        )
        channel.queue_declare(old, durable=True, arguments=partitioned.planner_queue_arguments())
        channel.queue_bind(old, partitioned.events_exchange, routing_key="#")
        channel.queue_bind(old, partitioned.requeue_exchange)
        channel.confirm_delivery()
        for n in range(30):  # guest publishes as "traininglog" here: the trusted user
            channel.basic_publish(
                partitioned.events_exchange,
                "pain.reported",
                envelope("acme", f"u{n % 7}", n),
                pika.BasicProperties(message_id=f"e{n}", user_id="guest"),
            )
        channel.basic_publish(
            partitioned.events_exchange,
            "pain.reported",
            envelope("acme", "u1", 99),
            pika.BasicProperties(message_id="stranger"),  # no user_id: not traininglog's
        )
    finally:
        connection.close()
    params = connection_parameters(amqp_url, connection_name="test-migration")
    publishers = Publishers(
        events="guest", requeues="guest", requeue_exchange=partitioned.requeue_exchange
    )
    assert drain_legacy_queue(params, partitioned, publishers) is True
    connection, channel = channel_of(amqp_url)
    try:
        moved = {queue: consume_queue(channel, queue) for queue in partitioned.partition_queues}
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            channel.queue_declare(old, passive=True)  # deleted
    finally:
        connection.close()
    ids = [p.message_id for messages in moved.values() for p, _ in messages]
    assert sorted(ids) == sorted(f"e{n}" for n in range(30))  # each once; the stranger dropped
    for messages in moved.values():
        for properties, body in messages:
            document = json.loads(body)
            assert properties.headers[PARTITION_KEY_HEADER] == "acme/" + document["user_id"]
    queue_of = {
        json.loads(body)["user_id"]: queue
        for queue, messages in moved.items()
        for _, body in messages
    }
    for queue, messages in moved.items():  # every user's events in one queue, in order
        for user in {json.loads(body)["user_id"] for _, body in messages}:
            assert queue_of[user] == queue
            versions = [
                json.loads(b)["stream_version"]
                for _, b in messages
                if json.loads(b)["user_id"] == user
            ]
            assert versions == sorted(versions)
    # A second planner finds nothing to move.
    assert drain_legacy_queue(params, partitioned, publishers) is True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def claims_table(engine: Engine) -> Engine:
    with engine.begin() as connection:  # the PostgreSQL engine is the session's
        connection.execute(delete(planner_partition_claims))
        connection.execute(delete(planner_instances))
    return engine


def test_a_partition_has_one_holder_and_a_dead_holders_claims_lapse(claims_table):
    clock = Clock()
    a = SqlAlchemyPartitionClaims(claims_table, "a", lease_s=10, clock=clock)
    b = SqlAlchemyPartitionClaims(claims_table, "b", lease_s=10, clock=clock)
    a.heartbeat(4)
    b.heartbeat(4)
    assert a.free() == {0, 1, 2, 3}
    assert a.take(0) and a.take(1)
    assert not b.take(0)  # held
    assert b.take(2)
    assert a.live() == ["a", "b"]
    clock.now += 11  # b stops renewing (killed); a renews
    a.heartbeat(4)
    assert a.renew() == {0, 1}
    assert a.live() == ["a"]
    assert a.free() == {2, 3}
    assert a.take(2)
    assert b.renew() == set()  # b, back from a stall, learns it lost its partition
    a.leave()
    assert b.free() == {0, 1, 2, 3}



def test_instances_share_the_partitions_and_take_over_a_stopped_ones(
    amqp_url, partitioned, claims_table
):
    """Real consumers: one instance takes all 8 partitions, a second joining takes half, and
    when the first leaves the second takes them all; every message is handled once."""
    handled: list[tuple[str, str]] = []
    lock = threading.Lock()

    def instance(name: str) -> tuple[PartitionedConsumer, threading.Thread]:
        def consumer_for(queue: str) -> PikaConsumer:
            def handle(message: IncomingMessage) -> None:
                with lock:
                    handled.append((name, message.message_id or ""))

            return PikaConsumer(amqp_url, partitioned, queue, handle, connection_name=name)

        claims = SqlAlchemyPartitionClaims(claims_table, name, lease_s=1.5)
        fleet = PartitionedConsumer(partitioned, claims, consumer_for, lease_s=1.5)
        thread = threading.Thread(target=fleet.run, daemon=True)
        thread.start()
        return fleet, thread

    first, first_thread = instance("first")
    wait_until(lambda: len(first.held()) == 8, timeout_s=60)
    second, second_thread = instance("second")
    wait_until(lambda: len(first.held()) == 4 and len(second.held()) == 4, timeout_s=60)
    assert first.held().isdisjoint(second.held())
    connection, channel = channel_of(amqp_url)
    try:
        channel.confirm_delivery()
        for n in range(200):
            channel.basic_publish(
                partitioned.events_exchange,
                "pain.reported",
                b"{}",
                pika.BasicProperties(
                    message_id=f"m{n}", headers={PARTITION_KEY_HEADER: f"acme/u{n}"}
                ),
            )
    finally:
        connection.close()
    wait_until(lambda: len(handled) >= 200, timeout_s=60)
    assert {name for name, _ in handled} == {"first", "second"}
    first.stop()
    first_thread.join(timeout=30)
    wait_until(lambda: len(second.held()) == 8, timeout_s=60)
    second.stop()
    second_thread.join(timeout=30)
    assert sorted(m for _, m in handled) == sorted(f"m{n}" for n in range(200))


def test_a_requeued_dead_letter_goes_to_its_users_partition(amqp_url, partitioned):
    """A dead letter from before partition keys (the header missing) is requeued into the
    partition of its user, named by the envelope, not into whichever the missing key hashes to."""
    connection, channel = channel_of(amqp_url)
    try:
        partitioned.declare(channel)
        channel.confirm_delivery()
        key = partition_key("acme", "u-requeued")
        channel.basic_publish(  # the user's own partition: where its events go
            partitioned.events_exchange,
            "pain.reported",
            b"{}",
            pika.BasicProperties(message_id="marker", headers={PARTITION_KEY_HEADER: key}),
        )
        channel.basic_publish(
            partitioned.dead_letter_exchange,
            "",
            envelope("acme", "u-requeued", 1),
            pika.BasicProperties(
                message_id="old-letter", headers={"tenant": "acme", "user_id": "u-requeued"}
            ),
        )
    finally:
        connection.close()
    assert PikaDeadLetters(amqp_url, partitioned).requeue() == 1
    connection, channel = channel_of(amqp_url)
    try:
        where = {
            properties.message_id: queue
            for queue in partitioned.partition_queues
            for properties, _ in consume_queue(channel, queue)
        }
    finally:
        connection.close()
    assert where["old-letter"] == where["marker"]
