"""The relay and the consumer against the real RabbitMQ."""

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pika
import pytest
from sqlalchemy import Engine

from backtrack_shared.broker.consumer import PikaConsumer
from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.messages import (
    IncomingMessage,
    OutgoingMessage,
    PoisonMessage,
    TransientFailure,
)
from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from planner import cli as planner_cli
from tests.factories import baseline, new_user_id, pain
from tests.support.queues import drain
from tests.support.recording import record
from tests.support.stores import keys_for
from tests.support.waiting import wait_until
from traininglog.adapters.outbox import SqlAlchemyEventOutbox

pytestmark = pytest.mark.integration




def test_the_relay_publishes_every_stored_event_in_order_with_confirms(
    engine: Engine, amqp_url: str, topology: Topology
):
    user = new_user_id()
    receipts = record(engine, baseline(user), *[pain(user, score=s, day=s) for s in range(5)])
    outbox = SqlAlchemyEventOutbox(engine, keys_for(engine))
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-relay")
    relay = OutboxRelay(outbox, publisher, topology.events_exchange, batch_size=50)
    try:
        while relay.relay_once():
            pass
    finally:
        publisher.close()
    mine = [
        (properties, json.loads(body))
        for properties, body in drain(amqp_url, topology.partition_queue(0))
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


def test_a_batch_is_confirmed_as_a_whole_and_arrives_in_order(amqp_url: str, topology: Topology):
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-batch")
    messages = [
        OutgoingMessage("pain.reported", json.dumps({"n": n}).encode(), f"m{n}")
        for n in range(1000)
    ]
    try:
        assert publisher.publish(topology.events_exchange, messages[:600]) == 600
        assert publisher.publish(topology.events_exchange, messages[600:]) == 400
    finally:
        publisher.close()
    arrived = drain(amqp_url, topology.partition_queue(0))
    assert [properties.message_id for properties, _ in arrived] == [m.message_id for m in messages]


def test_after_the_broker_closes_the_channel_the_next_batch_goes_out_on_a_new_one(
    amqp_url: str, topology: Topology
):
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-recover")
    message = OutgoingMessage("pain.reported", b"{}", "after")
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND"):
            publisher.publish(f"{topology.namespace}.no-such-exchange", [message])
        assert publisher.publish(topology.events_exchange, [message]) == 1
    finally:
        publisher.close()
    assert [p.message_id for p, _ in drain(amqp_url, topology.partition_queue(0))] == ["after"]


def run_planner_cli(monkeypatch, capsys, amqp_url: str, topology: Topology, *argv: str) -> str:
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("BROKER_NAMESPACE", topology.namespace)
    monkeypatch.setenv("PLANNER_PARTITIONS", str(topology.partitions))
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
        topology.partition_queue(0),
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
        topology.partition_queue(0),
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


def publish(amqp_url: str, topology: Topology, messages: dict[str, bytes]) -> None:
    """Publish message id -> body, in this order, confirmed: they wait in the planner's queue."""
    publisher = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-publisher")
    try:
        publisher.publish(
            topology.events_exchange,
            [OutgoingMessage("pain.reported", body, id_) for id_, body in messages.items()],
        )
    finally:
        publisher.close()


@contextlib.contextmanager
def consuming(consumer: PikaConsumer) -> Iterator[None]:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        consumer.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def one_at_a_time(message: IncomingMessage) -> None:
    raise AssertionError(f"{message.message_id} was handled on its own")


def batch_consumer(
    amqp_url: str,
    topology: Topology,
    handle_batch: Callable[[Sequence[IncomingMessage]], list[PoisonMessage | None]],
    *,
    batch_size: int,
    handle: Callable[[IncomingMessage], None] = one_at_a_time,
    **options: Any,
) -> PikaConsumer:
    """A consumer of the test's planner queue with a batch handler, prefetch = batch size."""
    options.setdefault("prefetch", batch_size)
    return PikaConsumer(
        amqp_url,
        topology,
        topology.partition_queue(0),
        handle,
        handle_batch=handle_batch,
        batch_size=batch_size,
        connection_name="test-consumer",
        **options,
    )


def test_waiting_messages_are_handled_in_one_batch_and_all_acked(amqp_url: str, topology: Topology):
    message_ids = [f"m{n}" for n in range(60)]
    publish(amqp_url, topology, dict.fromkeys(message_ids, b"{}"))
    batches: list[list[str]] = []

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        batches.append([message.message_id or "" for message in messages])
        return [None] * len(messages)

    consumer = batch_consumer(amqp_url, topology, handle_batch, batch_size=100, batch_wait_s=0.3)
    with consuming(consumer):
        wait_until(lambda: sum(map(len, batches)) == len(message_ids))
        time.sleep(0.2)  # room for a message handled twice to show
    assert [message_id for batch in batches for message_id in batch] == message_ids
    assert len(batches) <= 2  # what waited was delivered within the wait, prefetch permitting
    assert drain(amqp_url, topology.partition_queue(0)) == []  # all acked: none came back on close


def test_what_was_delivered_meanwhile_makes_the_next_batch_beyond_one_socket_read(
    amqp_url: str, topology: Topology
):
    """pika reads 128 KiB from the socket at a time: the batch keeps reading until nothing more
    has arrived, instead of stopping at the first read."""
    busy, batches = threading.Event(), []
    message_ids = [f"m{n}" for n in range(120)]  # ~3 KB each: some 360 KB in all

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        batches.append([message.message_id or "" for message in messages])
        assert busy.wait(10)
        return [None] * len(messages)

    def handle(message: IncomingMessage) -> None:
        handle_batch([message])

    consumer = batch_consumer(amqp_url, topology, handle_batch, batch_size=200, handle=handle)
    with consuming(consumer):
        publish(amqp_url, topology, {"first": b"{}"})
        wait_until(lambda: len(batches) == 1)  # the consumer is busy with it
        publish(amqp_url, topology, dict.fromkeys(message_ids, b"x" * 3000))
        time.sleep(0.5)  # all delivered, waiting in the consumer's socket
        busy.set()
        wait_until(lambda: sum(map(len, batches)) == 1 + len(message_ids))
    assert batches[0] == ["first"]
    assert [message_id for batch in batches[1:] for message_id in batch] == message_ids
    # One batch, or two if the broker was slow to write the rest: one read holds about 32.
    assert len(batches) <= 3


def test_a_poison_message_in_a_batch_is_dead_lettered_and_the_others_applied(
    amqp_url: str, topology: Topology
):
    bodies = {"good-1": b"{}", "junk-1": b"unreadable", "good-2": b"{}", "junk-2": b"unreadable"}
    publish(amqp_url, topology, bodies)
    batches: list[list[str]] = []
    applied: list[str] = []

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        batches.append([message.message_id or "" for message in messages])
        refusals: list[PoisonMessage | None] = []
        for message in messages:
            if message.body == b"unreadable":
                refusals.append(PoisonMessage("not JSON"))
            else:
                applied.append(message.message_id or "")
                refusals.append(None)
        return refusals

    consumer = batch_consumer(amqp_url, topology, handle_batch, batch_size=10, batch_wait_s=0.3)
    dead_letters = PikaDeadLetters(amqp_url, topology)
    with consuming(consumer):
        wait_until(lambda: len(applied) == 2 and len(dead_letters.list()) == 2)
    assert batches == [list(bodies)]
    assert applied == ["good-1", "good-2"]
    letters = {letter.message_id: letter for letter in dead_letters.list()}
    assert set(letters) == {"junk-1", "junk-2"}
    assert all(letter.error == "not JSON" and letter.attempts == 1 for letter in letters.values())
    assert drain(amqp_url, topology.partition_queue(0)) == []


def test_a_failing_message_in_a_batch_is_dead_lettered_alone_after_the_delivery_limit(
    amqp_url: str, topology: Topology
):
    """The batch fails as a whole; handled again one by one, only the message at fault is
    retried, and dead-lettered after the delivery limit, while the others are applied once."""
    bodies = {"good-1": b"{}", "bad": b"always fails", "good-2": b"{}", "good-3": b"{}"}
    publish(amqp_url, topology, bodies)
    applied: list[str] = []
    attempts: Counter[str] = Counter()

    def handle(message: IncomingMessage) -> None:
        attempts[message.message_id or ""] += 1
        if message.body == b"always fails":
            raise RuntimeError("cannot apply")
        applied.append(message.message_id or "")

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        if any(message.body == b"always fails" for message in messages):
            raise RuntimeError("cannot apply")  # nothing of the batch is applied
        applied.extend(message.message_id or "" for message in messages)
        return [None] * len(messages)

    consumer = batch_consumer(
        amqp_url,
        topology,
        handle_batch,
        batch_size=10,
        handle=handle,
        batch_wait_s=0.3,
    )
    dead_letters = PikaDeadLetters(amqp_url, topology)
    with consuming(consumer):
        wait_until(lambda: len(dead_letters.list()) == 1)
    assert applied == ["good-1", "good-2", "good-3"]  # once each, in order
    assert attempts["bad"] == topology.delivery_limit
    (letter,) = dead_letters.list()
    assert letter.message_id == "bad" and letter.attempts == topology.delivery_limit
    assert letter.error == "RuntimeError('cannot apply')"
    assert drain(amqp_url, topology.partition_queue(0)) == []


def test_a_batch_failing_transiently_is_held_and_retried_without_losing_anything(
    amqp_url: str, topology: Topology
):
    message_ids = [f"m{n}" for n in range(10)]
    publish(amqp_url, topology, dict.fromkeys(message_ids, b"{}"))
    failures_left = topology.delivery_limit * 2
    calls: list[list[str]] = []
    applied: list[tuple[str, int]] = []

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        nonlocal failures_left
        calls.append([message.message_id or "" for message in messages])
        if failures_left > 0:
            failures_left -= 1
            raise TransientFailure("database unavailable")
        applied.extend(
            (message.message_id or "", int(message.headers.get("x-delivery-count", 0)))
            for message in messages
        )
        return [None] * len(messages)

    consumer = batch_consumer(
        amqp_url,
        topology,
        handle_batch,
        batch_size=100,
        batch_wait_s=0.3,
        max_backoff_s=0.05,
        transient_backoff_s=0.01,
    )
    with consuming(consumer):
        wait_until(lambda: len(applied) == len(message_ids))
    assert calls == [message_ids] * (topology.delivery_limit * 2 + 1)  # the same batch each time
    assert applied == [(message_id, 0) for message_id in message_ids]  # never returned
    assert PikaDeadLetters(amqp_url, topology).list() == []
    assert drain(amqp_url, topology.partition_queue(0)) == []


def test_a_paused_consumer_leaves_a_failing_batch_to_the_queue_and_applies_it_on_resume(
    amqp_url: str, topology: Topology
):
    """What RebuildJob does while the consumer holds a batch it cannot apply (the projections
    are busy): pause() gives the messages back unacknowledged, resume() applies them."""
    message_ids = [f"m{n}" for n in range(5)]
    publish(amqp_url, topology, dict.fromkeys(message_ids, b"{}"))
    busy = threading.Event()
    busy.set()
    tries: list[list[str]] = []
    applied: list[str] = []

    def handle_batch(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        tries.append([message.message_id or "" for message in messages])
        if busy.is_set():
            raise TransientFailure("projections busy")
        applied.extend(message.message_id or "" for message in messages)
        return [None] * len(messages)

    consumer = batch_consumer(
        amqp_url,
        topology,
        handle_batch,
        batch_size=100,
        batch_wait_s=0.3,
        max_backoff_s=0.05,
        transient_backoff_s=0.01,
    )
    with consuming(consumer):
        wait_until(lambda: len(tries) >= 3)
        consumer.pause()
        wait_until(lambda: not consumer.connected.is_set())
        busy.clear()
        time.sleep(0.3)
        assert applied == []  # paused: nothing taken meanwhile
        consumer.resume()
        wait_until(lambda: len(applied) == len(message_ids))
    assert applied == message_ids
    assert PikaDeadLetters(amqp_url, topology).list() == []
    assert drain(amqp_url, topology.partition_queue(0)) == []
