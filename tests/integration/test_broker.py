"""The relay and the consumer against the real RabbitMQ."""

import json
import threading
import time
from collections.abc import Callable

import pika
import pytest
from sqlalchemy import Engine

from backtrack_shared.rabbit import (
    Disposition,
    IncomingMessage,
    OutgoingMessage,
    PikaConfirmedPublisher,
    PikaConsumer,
)
from backtrack_shared.relay import OutboxRelay
from backtrack_shared.topology import Topology
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


def test_failing_messages_are_dead_lettered_and_the_rest_keep_flowing(
    amqp_url: str, topology: Topology
):
    handled: list[str] = []
    attempts: dict[str, int] = {}

    def handle(message: IncomingMessage) -> Disposition:
        attempts[message.message_id or ""] = attempts.get(message.message_id or "", 0) + 1
        if message.body == b"unreadable":
            return Disposition.DEAD_LETTER
        if message.body == b"always fails":
            raise RuntimeError("cannot apply")
        handled.append(message.message_id or "")
        return Disposition.ACK

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
            lambda: len(handled) == 2 and attempts.get("poison", 0) > topology.delivery_limit
        )
        dead: list[str] = []
        wait_until(
            lambda: (
                len(
                    dead.__iadd__(
                        [p.message_id for p, _ in drain(amqp_url, topology.dead_letter_queue)]
                    )
                )
                == 2
            )
        )
    finally:
        publisher.close()
        consumer.stop()
        thread.join(timeout=10)
    assert handled == ["good-1", "good-2"]
    assert attempts["junk"] == 1
    assert attempts["poison"] == topology.delivery_limit + 1
    assert sorted(dead) == ["junk", "poison"]
