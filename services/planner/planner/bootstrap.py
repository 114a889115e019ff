"""The composition root: builds the planner's parts from its settings, and nothing else does."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import structlog
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from backtrack_shared.auth.clients_file import WatchedClientsFile
from backtrack_shared.broker.connection import (
    QueueDepthProbe,
    broker_reachable,
    broker_url_user,
    connection_parameters,
)
from backtrack_shared.broker.consumer import PikaConsumer
from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.messages import TransientFailure
from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine, database_reachable, scrub, upgrade_to_head
from backtrack_shared.serve import PeriodicWorker, Worker
from backtrack_shared.user_key import UserKey
from planner.adapters.feed_client import HttpTrainingLogFeed
from planner.adapters.page_links import PageLinks, page_link_secret
from planner.adapters.partition_claims import SqlAlchemyPartitionClaims
from planner.adapters.projection_store import (
    RebuildRunning,
    SqlAlchemyPlannerReader,
    SqlAlchemyRoutineOutbox,
    SqlAlchemyUnitOfWork,
)
from planner.adapters.tables import USER_DATA_TABLES
from planner.config import Settings
from planner.domain.failsafe import degradations
from planner.entrypoints.consumer import Publishers, batch_handler, message_handler
from planner.entrypoints.http import create_app
from planner.entrypoints.legacy_queue import drain_legacy_queue
from planner.entrypoints.partitions import PartitionedConsumer
from planner.metrics import OUTBOX_BACKLOG, USERS_WITH_UNAPPLIED_EVENTS
from planner.service_layer.apply import ApplyResult
from planner.service_layer.catch_up import LaggingCatchUp, catch_up, rebuild_user
from planner.service_layer.delivered import apply_delivered
from planner.service_layer.erasure_scrub import SCRUB_INTERVAL_S, ErasureScrub
from planner.service_layer.folds import RoutineFolds
from planner.service_layer.lag import INTERVAL_S, Lag
from planner.service_layer.rebuild_job import RebuildJob
from planner.service_layer.single_writer import ProjectionsBusy, SingleWriter
from planner.webhooks.store import SqlAlchemyWebhookStore

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger("planner")


@dataclass
class Planner:
    settings: Settings
    engine: Engine
    app: Flask
    consumer: PartitionedConsumer
    relay: OutboxRelay
    catch_up: PeriodicWorker
    lag: PeriodicWorker
    erasure_scrub: PeriodicWorker
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork]
    feed: HttpTrainingLogFeed
    folds: RoutineFolds
    writer: SingleWriter

    def consume(self) -> None:
        """Catch up with the whole feed first, then consume: events apply in feed order."""
        try:
            with self.writer.turn():
                read = catch_up(self.unit_of_work, self.feed, folds=self.folds)
            log.info("catch_up.on_start", events_read=read)
        except (requests.RequestException, SQLAlchemyError) as err:
            # traininglog or the database does not answer: consume anyway; the periodic
            # catch-up applies what the feed holds once they do.
            log.warning("catch_up.on_start_failed", error=str(err)[:500])
        self.consumer.run()

    def workers(self) -> list[Worker]:
        return [
            Worker("event-consumer", self.consume, self.consumer.stop),
            Worker("outbox-relay", self.relay.run, self.relay.stop),
            self.catch_up.worker(),
            self.lag.worker(),
            self.erasure_scrub.worker(),
        ]


def migrate(engine: Engine) -> None:
    upgrade_to_head(engine, MIGRATIONS)


def bootstrap(settings: Settings) -> Planner:
    engine = create_database_engine(settings.database_url)
    topology = Topology(settings.broker_namespace, partitions=settings.partitions)
    outbox = SqlAlchemyRoutineOutbox(engine)
    relay = OutboxRelay(
        outbox,
        PikaConfirmedPublisher(
            settings.amqp_url, topology, connection_name="planner-relay", mandatory=False
        ),
        topology.routines_exchange,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    OUTBOX_BACKLOG.set_function(outbox.backlog)

    def unit_of_work() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    feed = HttpTrainingLogFeed(settings.traininglog_url, settings.traininglog_api_key)
    folds = RoutineFolds(settings.fold_cache_users)
    reader = SqlAlchemyPlannerReader(engine)

    def users_with_unapplied_events() -> int | None:
        try:
            return reader.users_with_unapplied_events()
        except SQLAlchemyError:
            return None  # the database check says so already

    USERS_WITH_UNAPPLIED_EVENTS.set_function(
        lambda: float("nan") if (count := users_with_unapplied_events()) is None else count
    )

    # Its own connection and its own HTTP session: neither is shared across threads.
    lag = Lag(
        QueueDepthProbe(
            settings.amqp_url, topology.partition_queues, connection_name="planner-lag"
        ),
        HttpTrainingLogFeed(
            settings.traininglog_url, settings.traininglog_api_key, timeout_s=5
        ).head,
        reader.applied_head,
    )

    writer = SingleWriter()

    def apply_all(envelopes: list[dict[str, Any]]) -> list[ApplyResult]:
        try:
            with writer.turn(wait_s=1.0):  # one turn for the whole batch
                results = apply_delivered(unit_of_work, feed, envelopes, folds)
        except (ProjectionsBusy, RebuildRunning) as busy:  # a rebuild, here or in another
            raise TransientFailure(str(busy)) from busy  # instance: the messages wait
        relay.wake()
        return results

    def apply(envelope: dict[str, Any]) -> ApplyResult:
        (result,) = apply_all([envelope])
        return result

    lagging_catch_up = LaggingCatchUp(
        unit_of_work,
        feed,
        folds,
        consumer_busy=lambda: bool(lag.figures().get("queue_depth")),
    )

    def catch_up_now() -> int:
        try:
            with writer.turn(wait_s=5.0):
                read = lagging_catch_up()
        except (ProjectionsBusy, RebuildRunning):
            return 0  # a rebuild runs, and ends caught up
        relay.wake()
        return read

    def rebuild_one(user: UserKey) -> tuple[int, int | None]:
        with writer.turn(wait_s=10.0):
            try:
                read = rebuild_user(unit_of_work, feed, user, folds)
            except RebuildRunning as running:  # in another instance: answered as here
                raise ProjectionsBusy(str(running)) from running
        current = reader.current(user)
        return read, current[1].version if current else None

    publishers = Publishers(
        events=settings.traininglog_broker_user,
        requeues=broker_url_user(settings.amqp_url),
        requeue_exchange=topology.requeue_exchange,
    )

    def partition_consumer(queue: str) -> PikaConsumer:
        return PikaConsumer(
            settings.amqp_url,
            topology,
            queue,
            message_handler(apply, publishers),
            handle_batch=batch_handler(apply_all, publishers),
            batch_size=settings.batch_size,
            batch_wait_s=settings.batch_wait_s,
            prefetch=settings.prefetch,
            connection_name=f"planner-consumer-{queue.rsplit('.', 1)[-1]}",
        )

    legacy_params = connection_parameters(settings.amqp_url, connection_name="planner-migration")
    legacy_queue_gone = False

    def drain_legacy_queue_once() -> None:
        nonlocal legacy_queue_gone
        if not legacy_queue_gone:
            legacy_queue_gone = drain_legacy_queue(legacy_params, topology, publishers)

    consumer = PartitionedConsumer(
        topology,
        SqlAlchemyPartitionClaims(engine, settings.instance, lease_s=settings.partition_lease_s),
        partition_consumer,
        lease_s=settings.partition_lease_s,
        before_each_turn=drain_legacy_queue_once,
    )
    app = create_app(
        reader=reader,
        readiness_checks={
            "database": lambda: database_reachable(engine),
            "broker": lambda: broker_reachable(settings.amqp_url),
            "consumer": consumer.connected.is_set,
        },
        readiness_details=lambda: {
            **lag.figures(),
            "users_with_unapplied_events": users_with_unapplied_events(),
        },
        readiness_degradations=lambda: degradations(users_with_unapplied_events()),
        webhooks=SqlAlchemyWebhookStore(engine),
        rebuild_job=RebuildJob(unit_of_work, feed, consumer, writer, folds),
        rebuild_user=rebuild_one,
        registry=WatchedClientsFile(settings.clients_file).registry,
        page_links=PageLinks(
            page_link_secret(settings.page_link_secret, settings.page_link_secret_file)
        ),
    )
    catch_up_worker = PeriodicWorker("feed-catch-up", catch_up_now, settings.catch_up_interval_s)
    lag_worker = PeriodicWorker("lag", lag.measure, INTERVAL_S)
    erasure_scrub = ErasureScrub(
        unit_of_work,
        PikaDeadLetters(settings.amqp_url, topology),
        lambda: scrub(engine, USER_DATA_TABLES),
    )
    scrub_worker = PeriodicWorker("erasure-scrub", erasure_scrub, SCRUB_INTERVAL_S)
    return Planner(
        settings,
        engine,
        app,
        consumer,
        relay,
        catch_up_worker,
        lag_worker,
        scrub_worker,
        unit_of_work,
        feed,
        folds,
        writer,
    )
