"""The relay and the consumer against the real RabbitMQ."""

import json
import threading
import time
from collections.abc import Callable

import pika
import pytest
from sqlalchemy import Engine

from backtrack_shared.dead_letters import PikaDeadLetters
from backtrack_shared.rabbit import (
    IncomingMessage,
    OutgoingMessage,
    PikaConfirmedPublisher,
    PikaConsumer,
    PoisonMessage,
    TransientFailure,
)
from backtrack_shared.relay import OutboxRelay
from backtrack_shared.topology import Topology
from planner import cli as planner_cli
from tests.factories import baseline, new_user_id, pain
from tests.integration.test_event_store import record
from traininglog.adapters.outbox import SqlAlchemyEventOutbox

pytestmark = pytest.mark.integration


def drain(amqp_url: str, queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    messages = []
    try:
        channel = connection.channel()
        # basic.get is refused on a single-active-consumer quorum queue: consume until quiet.
        for method, properties, body in channel.consume(
            queue, auto_ack=True, inactivity_timeout=0.5
        ):
            if method is None:
                return messages
            messages.append((properties, body))
        return messages
    finally:
        connection.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_the_relay_publishes_every_stored_event_in_order_with_confirms(
    engine: Engine, amqp_url: str, topology: Topology
):
    user = new_user_id()
    receipts = record(engine, baseline(user), *[pain(user, score=s, day=s) for s in range(5)])
    outbox = SqlAlchemyEventOutbox(engine)
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-relay")
    relay = OutboxRelay(outbox, publisher, topology.events_exchange, batch_size=50)
    try:
        while relay.relay_once():
            pass
    finally:
        publisher.close()
    mine = [
        (properties, json.loads(body))
        for properties, body in drain(amqp_url, topology.planner_queue)
        if properties.headers["user_id"] == user
    ]
    assert [p.message_id for p, _ in mine] == [r.event_id for r in receipts]
    assert [body["stream_version"] for _, body in mine] == list(range(1, 7))
    assert all(p.delivery_mode == 2 for p, _ in mine)
    assert not {r.position for r in receipts} & {p.outbox_id for p in outbox.pending(100_000)}


def test_an_unroutable_publish_raises_instead_of_vanishing(amqp_url: str, topology: Topology):
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-unroutable")
    message = OutgoingMessage(routing_key="x", body=b"{}", message_id="m1")
    try:
        with pytest.raises(pika.exceptions.UnroutableError):
            publisher.publish(topology.routines_exchange, [message])  # nothing bound there
    finally:
        publisher.close()


def run_planner_cli(monkeypatch, capsys, amqp_url: str, topology: Topology, *argv: str) -> str:
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("BROKER_NAMESPACE", topology.namespace)
    planner_cli.main(list(argv))
    return capsys.readouterr().out  # type: ignore[no-any-return]


def test_failing_messages_are_dead_lettered_and_the_rest_keep_flowing(
    amqp_url: str, topology: Topology, monkeypatch, capsys
):
    handled: list[str] = []
    attempts: dict[str, int] = {}

    def handle(message: IncomingMessage) -> None:
        attempts[message.message_id or ""] = attempts.get(message.message_id or "", 0) + 1
        if message.body == b"unreadable":
            raise PoisonMessage("not JSON")
        if message.body == b"always fails":
            raise RuntimeError("cannot apply")
        handled.append(message.message_id or "")

    consumer = PikaConsumer(
        amqp_url,
        topology,
        topology.planner_queue,
        handle,
        prefetch=10,
        connection_name="test-consumer",
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-publisher")
    bodies = {"good-1": b"{}", "poison": b"always fails", "junk": b"unreadable", "good-2": b"{}"}
    try:
        publisher.publish(
            topology.events_exchange,
            [
                OutgoingMessage("pain.reported", body, message_id)
                for message_id, body in bodies.items()
            ],
        )
        wait_until(
            lambda: len(handled) == 2 and attempts.get("poison", 0) >= topology.delivery_limit
        )
        dead_letters = PikaDeadLetters(amqp_url, topology)
        wait_until(lambda: len(dead_letters.list()) == 2)
        letters = {letter.message_id: letter for letter in dead_letters.list()}
        assert letters["junk"].error == "not JSON" and letters["junk"].attempts == 1
        assert letters["poison"].error == "RuntimeError('cannot apply')"
        assert letters["poison"].attempts == topology.delivery_limit
        assert letters["poison"].routing_key == "pain.reported"
        assert len(dead_letters.list()) == 2  # looking does not take them away
        listed = run_planner_cli(monkeypatch, capsys, amqp_url, topology, "dead-letters", "list")
        # (the consumer thread of this test logs to the same stdout, not as JSON objects)
        rows = [json.loads(line) for line in listed.splitlines() if line.startswith("{")]
        assert sorted(row["message_id"] for row in rows) == [
            "junk",
            "poison",
        ]

        bodies_before = len(handled)
        assert dead_letters.requeue({"junk"}) == 1  # back to the planner's queue: it fails again
        wait_until(lambda: attempts["junk"] == 2 and len(dead_letters.list()) == 2)
        assert len(handled) == bodies_before
    finally:
        publisher.close()
        consumer.stop()
        thread.join(timeout=10)
    assert handled == ["good-1", "good-2"]
    assert attempts["poison"] == topology.delivery_limit


def test_a_transient_failure_is_retried_past_the_delivery_limit_without_dead_lettering(
    amqp_url: str, topology: Topology
):
    """A database outage longer than the delivery limit's worth of retries loses nothing: the
    consumer holds the message and retries it without returning it to the queue."""
    failures_left = {"flaky": topology.delivery_limit * 2}
    handled: list[tuple[str, int]] = []

    def handle(message: IncomingMessage) -> None:
        message_id = message.message_id or ""
        if failures_left.get(message_id, 0) > 0:
            failures_left[message_id] -= 1
            raise TransientFailure("database unavailable")
        handled.append((message_id, int(message.headers.get("x-delivery-count", 0))))

    consumer = PikaConsumer(
        amqp_url,
        topology,
        topology.planner_queue,
        handle,
        prefetch=10,
        connection_name="test-consumer",
        max_backoff_s=0.05,
        transient_backoff_s=0.01,
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-publisher")
    try:
        publisher.publish(
            topology.events_exchange,
            [OutgoingMessage("pain.reported", b"{}", m) for m in ("flaky", "next")],
        )
        wait_until(lambda: len(handled) == 2)
    finally:
        publisher.close()
        consumer.stop()
        thread.join(timeout=10)
    assert handled == [("flaky", 0), ("next", 0)]  # in order, never returned to the queue
    assert PikaDeadLetters(amqp_url, topology).list() == []
