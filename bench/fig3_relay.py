"""Figure 3: the outbox relay publishing stored events to RabbitMQ with publisher confirms.

Measured: `OutboxRelay.relay_once` (batches of 200, as the service runs it) with
`PikaConfirmedPublisher` until N outbox rows are drained: read the batch (events JOIN outbox),
build each message, publish it mandatory and persistent, wait for its confirm, delete the rows.
Baseline: the same bodies and properties, built beforehand, published by plain pika on a
BlockingChannel with `confirm_delivery()` (one confirm per message), mandatory, to the same
exchange of the same throwaway topology (a quorum queue bound to it). PostgreSQL.
"""

import pika
from sqlalchemy import Engine, text

from backtrack_shared.gc_tuning import settle_after_startup
from backtrack_shared.rabbit import PikaConfirmedPublisher
from backtrack_shared.relay import OutboxRelay
from backtrack_shared.topology import Topology
from bench import infra
from bench.config import Config
from bench.harness import Row, Stat, Timer
from traininglog.adapters.outbox import SqlAlchemyEventOutbox

RELAY_BATCH = 200  # the service's RELAY_BATCH_SIZE default


def refill_outbox(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO event_outbox SELECT position FROM events"))


def drain_with_relay(engine: Engine, topology: Topology, count: int) -> float:
    publisher = PikaConfirmedPublisher(infra.AMQP_URL, topology, connection_name="bench-relay")
    relay = OutboxRelay(
        SqlAlchemyEventOutbox(engine), publisher, topology.events_exchange, batch_size=RELAY_BATCH
    )
    publisher.publish(topology.events_exchange, [])  # connect and declare before the clock
    settle_after_startup()  # as harness.rate does
    try:
        with Timer() as timer:
            relayed = 0
            while batch := relay.relay_once():
                relayed += batch
    finally:
        publisher.close()
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


def run(config: Config) -> list[Row]:
    from bench.workload import workload

    load = workload(config.relay_messages, prefix="relay")
    relay, raw = Stat(), Stat()
    with (
        infra.postgres_database("relay") as url,
        infra.traininglog_engine(url) as engine,
        infra.throwaway_topology("relay") as topology,
    ):
        infra.insert_rows(engine, load, outbox=True)
        messages = [pending.message for pending in SqlAlchemyEventOutbox(engine).pending(len(load))]
        for run_index in range(config.repeats):
            if run_index:
                refill_outbox(engine)
            relay.add(drain_with_relay(engine, topology, len(load)))
            infra.purge_planner_queue(topology)
            raw.add(publish_raw(topology, messages))
            infra.purge_planner_queue(topology)
    return [
        Row(
            "3",
            f"outbox relay, OutboxRelay + PikaConfirmedPublisher, {len(load):,} rows",
            relay,
            "raw pika confirm_delivery publish",
            raw,
            "messages/s",
        )
    ]
