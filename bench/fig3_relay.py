"""Figure 3: the outbox relay publishing stored events to RabbitMQ with publisher confirms.

Measured: `OutboxRelay.relay_once` (batches of 200, as the service runs it: taking its turn on
the outbox, the data keys held by a key cache listening for deletions) with
`PikaConfirmedPublisher` until N outbox rows are drained: read the batch (events JOIN outbox),
build each message, publish the batch mandatory and persistent, wait for all its confirms,
delete the rows.
Baseline, the same confirm strategy: the same bodies and properties, built beforehand,
published by plain pika on a SelectConnection in confirm mode, 200 at a time, each batch's
confirms all in before the next, mandatory, to the same exchange of the same throwaway topology
(a quorum queue bound to it). PostgreSQL. A second baseline row: plain pika's BlockingChannel
with `confirm_delivery()`, one confirm per message (the relay's strategy before).
"""

import threading
import time

import pika
from sqlalchemy import Engine, text

from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from backtrack_shared.gc_tuning import settle_after_startup
from bench import infra
from bench.config import Config
from bench.harness import Row, Stat, Timer
from tests.support.waiting import wait_until
from traininglog.adapters.key_cache import KeyCache
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.outbox import SqlAlchemyEventOutbox
from traininglog.bootstrap import listen_dsn

RELAY_BATCH = 200  # the service's RELAY_BATCH_SIZE default


def refill_outbox(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO event_outbox SELECT position FROM events"))


def drain_with_relay(engine: Engine, topology: Topology, count: int) -> float:
    publisher = PikaConfirmedPublisher(infra.AMQP_URL, topology, connection_name="bench-relay")
    keys_engine = infra.keys_of(engine).engine
    key_cache = KeyCache(listen_dsn(keys_engine))
    listener = threading.Thread(target=key_cache.run, daemon=True)
    listener.start()
    outbox = SqlAlchemyEventOutbox(engine, SqlAlchemyKeyStore(keys_engine, key_cache))
    relay = OutboxRelay(outbox, publisher, topology.events_exchange, batch_size=RELAY_BATCH)
    publisher.publish(topology.events_exchange, [])  # connect and declare before the clock
    wait_until(lambda: key_cache.listening)
    settle_after_startup()  # as harness.rate does
    try:
        with Timer() as timer:
            relayed = 0
            while batch := relay.relay_once():
                relayed += batch
    finally:
        publisher.close()
        key_cache.stop()
        listener.join()
    assert relayed == count, (relayed, count)
    return count / timer.seconds


def publish_raw(topology: Topology, messages: list) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(infra.AMQP_URL))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        prepared = [(m.routing_key, m.body, m.properties()) for m in messages]
        settle_after_startup()  # as harness.rate does
        with Timer() as timer:
            for routing_key, body, properties in prepared:
                channel.basic_publish(
                    topology.events_exchange, routing_key, body, properties, mandatory=True
                )
    finally:
        connection.close()
    return len(messages) / timer.seconds


def publish_raw_in_batches(topology: Topology, messages: list, batch_size: int) -> float:
    """Plain pika, asynchronous: publish `batch_size` messages, wait for all their confirms,
    publish the next ones."""
    prepared = [(m.routing_key, m.body, m.properties()) for m in messages]
    state = {"sent": 0, "started": 0.0, "seconds": 0.0}
    unconfirmed: set[int] = set()  # delivery tags: a confirm-mode channel numbers them from 1

    def send_batch(channel) -> None:
        batch = prepared[state["sent"] : state["sent"] + batch_size]
        if not batch:
            state["seconds"] = time.perf_counter() - state["started"]
            channel.connection.close()
            return
        for routing_key, body, properties in batch:
            channel.basic_publish(
                topology.events_exchange, routing_key, body, properties, mandatory=True
            )
        unconfirmed.update(range(state["sent"] + 1, state["sent"] + len(batch) + 1))
        state["sent"] += len(batch)

    def on_confirm(channel, frame) -> None:
        if not isinstance(frame.method, pika.spec.Basic.Ack):
            raise RuntimeError(f"nacked: {frame.method}")
        tag = frame.method.delivery_tag  # acks may come out of order, one or `multiple`
        unconfirmed.difference_update(
            {t for t in unconfirmed if t <= tag} if frame.method.multiple else {tag}
        )
        if not unconfirmed:
            send_batch(channel)

    def on_confirm_mode(channel) -> None:
        settle_after_startup()  # as harness.rate does
        state["started"] = time.perf_counter()
        send_batch(channel)

    def on_channel(channel) -> None:
        channel.add_on_return_callback(lambda *returned: channel.connection.close())
        channel.confirm_delivery(
            lambda frame: on_confirm(channel, frame), callback=lambda _: on_confirm_mode(channel)
        )

    connection = pika.SelectConnection(
        pika.URLParameters(infra.AMQP_URL),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, _reason: c.ioloop.stop(),
    )
    connection.ioloop.start()
    assert state["sent"] == len(messages) and state["seconds"], state  # returned or failed
    return len(messages) / state["seconds"]


def run(config: Config) -> list[Row]:
    from bench.workload import workload

    load = workload(config.relay_messages, prefix="relay")
    relay, raw, raw_one_by_one = Stat(), Stat(), Stat()
    with (
        infra.postgres_database("relay") as url,
        infra.traininglog_engine(url) as engine,
        infra.throwaway_topology("relay") as topology,
    ):
        infra.insert_rows(engine, load, outbox=True)
        messages = [
            pending.message
            for pending in SqlAlchemyEventOutbox(engine, infra.keys_of(engine)).pending(len(load))
        ]
        for run_index in range(config.repeats):
            if run_index:
                refill_outbox(engine)
            relay.add(drain_with_relay(engine, topology, len(load)))
            infra.purge_planner_queue(topology)
            raw.add(publish_raw_in_batches(topology, messages, RELAY_BATCH))
            infra.purge_planner_queue(topology)
            raw_one_by_one.add(publish_raw(topology, messages))
            infra.purge_planner_queue(topology)
    return [
        Row(
            "3",
            f"outbox relay, OutboxRelay + PikaConfirmedPublisher, {len(load):,} rows",
            relay,
            f"raw pika, {RELAY_BATCH} a batch, all confirms in before the next",
            raw,
            "messages/s",
        ),
        Row(
            "3",
            f"outbox relay, OutboxRelay + PikaConfirmedPublisher, {len(load):,} rows",
            relay,
            "raw pika BlockingChannel, one confirm per message",
            raw_one_by_one,
            "messages/s",
        ),
    ]
