"""The fenced broker, with real broker users on this machine's RabbitMQ (made by the project's
own code with rabbitmqctl, deleted afterwards): what each user may not do the broker refuses,
and what it may do works."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
import pytest

from backtrack_shared.broker.consumer import PikaConsumer
from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.messages import (
    PUBLISHED_BY_HEADER,
    IncomingMessage,
    OutgoingMessage,
    PoisonMessage,
)
from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.topology import Topology
from backtrack_shared.broker.users import (
    BrokerUser,
    Permissions,
    TopicPermission,
    exactly,
    planner_user,
    tenant_subscriber,
    traininglog_user,
)
from planner.domain.versions import RoutineVersion
from planner.entrypoints.consumer import Publishers
from planner.service_layer.apply import routine_updated_message
from tests.broker_users import BrokerUsers, broker_users, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def users(amqp_url: str, topology: Topology) -> Iterator[BrokerUsers]:
    with broker_users(amqp_url, topology) as made:
        yield made


@pytest.fixture
def services(users: BrokerUsers) -> dict[str, str]:
    """traininglog's and the planner's broker users, the topology declared by the planner."""
    urls = {
        "traininglog": users.put(traininglog_user(unique_name("tl"), users.topology)),
        "planner": users.put(planner_user(unique_name("pl"), users.topology)),
    }
    with connection(urls["planner"]) as planner:
        users.topology.declare(planner.channel())
    return urls


class connection:
    def __init__(self, url: str) -> None:
        self._connection = pika.BlockingConnection(pika.URLParameters(url))

    def __enter__(self) -> pika.BlockingConnection:
        return self._connection

    def __exit__(self, *_: object) -> None:
        if self._connection.is_open:
            self._connection.close()


def user_of(url: str) -> str:
    return str(pika.URLParameters(url).credentials.username)  # type: ignore[attr-defined]


def envelope_message(for_user: str, **extra: Any) -> tuple[bytes, pika.BasicProperties]:
    body = json.dumps({"type": "access.granted", "user_id": for_user}).encode()
    return body, pika.BasicProperties(message_id="forged", **extra)


def refused(error: pytest.ExceptionInfo[BaseException], code: int) -> bool:
    reply = error.value.args[0] if error.value.args else None
    return reply == code


def test_a_tenant_binds_to_its_own_routines_and_the_broker_refuses_another_tenants(
    users: BrokerUsers, services: dict[str, str]
):
    topology = users.topology
    acme = users.put(tenant_subscriber(unique_name("acme"), topology, "acme"))
    queue = f"{topology.subscriber_queue_prefix('acme')}routines"
    with connection(acme) as tenant:
        channel = tenant.channel()
        channel.queue_declare(queue, exclusive=True)
        channel.queue_bind(queue, topology.routines_exchange, routing_key="routine.updated.acme")
        for key in ("routine.updated.globex", "#", "routine.updated.*", "routine.updated"):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
                tenant.channel().queue_bind(queue, topology.routines_exchange, routing_key=key)
            assert refused(error, 403), key
            assert "ACCESS_REFUSED" in str(error.value) and key in str(error.value)
        # Nor may it tap the events exchange (every tenant's events), with any key.
        for key in ("#", "pain.reported"):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
                tenant.channel().queue_bind(queue, topology.events_exchange, routing_key=key)
            assert refused(error, 403), key
        # Nor a queue outside its own prefix, nor another tenant's prefix.
        for other in ("elsewhere", f"{topology.subscriber_queue_prefix('globex')}routines"):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
                tenant.channel().queue_declare(other, exclusive=True)
            assert refused(error, 403), other
        # The planner's routine updates: acme's arrive, globex's do not, and say who sent them.
        publisher = PikaConfirmedPublisher(
            services["planner"], topology, connection_name="test-routines", mandatory=False
        )
        try:
            publisher.publish(
                topology.routines_exchange,
                [routine_update("acme", "u-acme"), routine_update("globex", "u-globex")],
            )
        finally:
            publisher.close()
        got = []
        for method, properties, body in channel.consume(queue, inactivity_timeout=2):
            if method is None:
                break
            channel.basic_ack(method.delivery_tag)
            got.append((method.routing_key, properties.user_id, json.loads(body)["user_id"]))
        assert got == [("routine.updated.acme", user_of(services["planner"]), "u-acme")]


def routine_update(tenant: str, user_id: str) -> OutgoingMessage:
    """The message the planner's outbox holds for a tenant's new routine version."""
    version = RoutineVersion(
        user_id, 1, "test", datetime(2026, 9, 1, tzinfo=UTC), 1, [], [], {}, tenant=tenant
    )
    return routine_updated_message(version)


def test_a_forged_publish_to_the_events_exchange_is_refused_to_every_user_but_traininglogs(
    users: BrokerUsers, services: dict[str, str]
):
    topology = users.topology
    acme = users.put(tenant_subscriber(unique_name("acme"), topology, "acme"))
    body, properties = envelope_message("u1")
    for url in (acme, services["planner"]):
        with connection(url) as intruder:
            channel = intruder.channel()
            channel.confirm_delivery()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
                channel.basic_publish(topology.events_exchange, "access.granted", body, properties)
            assert refused(error, 403) and "ACCESS_REFUSED" in str(error.value), user_of(url)
    # traininglog may publish its event types, and no other routing key.
    with connection(services["traininglog"]) as traininglog:
        channel = traininglog.channel()
        channel.confirm_delivery()
        channel.basic_publish(topology.events_exchange, "pain.reported", b"{}", properties)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
            channel.basic_publish(topology.events_exchange, "routine.updated.acme", b"{}")
        assert refused(error, 403)


def test_no_service_user_reads_what_is_not_its_own(users: BrokerUsers, services: dict[str, str]):
    topology = users.topology
    with connection(services["traininglog"]) as traininglog:
        # traininglog reads nothing: neither the planner's queue nor a queue of its own.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
            traininglog.channel().basic_get(topology.dead_letter_queue)
        assert refused(error, 403)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
            traininglog.channel().queue_declare("", exclusive=True)
        assert refused(error, 403)
    with connection(services["planner"]) as planner:
        # The planner may not tap the routines exchange it publishes to.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
            planner.channel().queue_bind(
                topology.dead_letter_queue, topology.routines_exchange, routing_key="#"
            )
        assert refused(error, 403)


def test_rabbitmq_refuses_a_user_id_that_is_not_the_publishers_own(
    users: BrokerUsers, services: dict[str, str]
):
    """Even a user given write permission on the events exchange cannot pass as traininglog."""
    topology = users.topology
    events = exactly([topology.events_exchange])
    writer = users.put(
        BrokerUser(
            unique_name("writer"),
            Permissions(configure="^$", write=events, read="^$"),
            (TopicPermission(topology.events_exchange, write=".*", read="^$"),),
        )
    )
    body, properties = envelope_message("u1", user_id=user_of(services["traininglog"]))
    with connection(writer) as intruder:
        channel = intruder.channel()
        channel.confirm_delivery()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as error:
            channel.basic_publish(topology.events_exchange, "access.granted", body, properties)
        assert refused(error, 406)
        assert "user_id property set to" in str(error.value)
        # Published under its own name, it gets through, and the planner does not trust it.
        channel = intruder.channel()
        channel.confirm_delivery()
        own = pika.BasicProperties(message_id="forged", user_id=user_of(writer))
        channel.basic_publish(topology.events_exchange, "access.granted", body, own)
    publishers = Publishers(
        events=user_of(services["traininglog"]),
        requeues=user_of(services["planner"]),
        requeue_exchange=topology.requeue_exchange,
    )
    delivered = consume_all(services["planner"], topology.partition_queue(0))
    assert [(m.message_id, publishers.trusted(m)) for m in delivered] == [("forged", False)]


def consume_all(url: str, queue: str) -> list[IncomingMessage]:
    with connection(url) as reader:
        channel = reader.channel()
        got = []
        for method, properties, body in channel.consume(queue, inactivity_timeout=2):
            if method is None:
                return got
            channel.basic_ack(method.delivery_tag)
            got.append(
                IncomingMessage(
                    body,
                    method.routing_key,
                    properties.message_id,
                    dict(properties.headers or {}),
                    bool(method.redelivered),
                    user_id=properties.user_id,
                    exchange=method.exchange,
                )
            )
        return got


def test_traininglogs_events_reach_the_planner_with_its_user_id_and_dead_letters_go_back(
    users: BrokerUsers, services: dict[str, str]
):
    """Under their own users: traininglog declares and publishes (user_id set), the planner's
    consumer dead-letters a message it refuses (a copy it may publish), and requeueing puts it
    back through the planner's own exchange, trusted."""
    topology = users.topology
    traininglog, planner = user_of(services["traininglog"]), user_of(services["planner"])
    publisher = PikaConfirmedPublisher(
        services["traininglog"],
        topology,
        connection_name="test-traininglog",
        declare=topology.declare_events,
    )
    try:
        publisher.publish(
            topology.events_exchange, [OutgoingMessage("pain.reported", b"junk", "e1")]
        )
    finally:
        publisher.close()

    seen: list[IncomingMessage] = []
    done = threading.Event()

    def refuse(message: IncomingMessage) -> None:
        seen.append(message)
        done.set()
        raise PoisonMessage("refused by the test")

    consumer = PikaConsumer(
        services["planner"],
        topology,
        topology.partition_queue(0),
        refuse,
        connection_name="test-planner",
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert done.wait(30)
    finally:
        consumer.stop()
        thread.join(30)
    assert [(m.message_id, m.user_id, m.exchange) for m in seen] == [
        ("e1", traininglog, topology.events_exchange)
    ]

    letters = PikaDeadLetters(services["planner"], topology)
    (letter,) = letters.list()
    assert (letter.message_id, letter.error) == ("e1", "refused by the test")
    with connection(services["planner"]) as reader:
        _, properties, _ = reader.channel().basic_get(topology.dead_letter_queue)
        assert properties.headers[PUBLISHED_BY_HEADER] == traininglog  # who sent it first
    assert letters.requeue() == 1
    (back,) = consume_all(services["planner"], topology.partition_queue(0))
    assert (back.message_id, back.user_id, back.exchange) == (
        "e1",
        planner,
        topology.requeue_exchange,
    )
    publishers = Publishers(traininglog, planner, topology.requeue_exchange)
    assert publishers.trusted(back) and publishers.trusted(seen[0])
