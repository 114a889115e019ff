"""The composition root: builds the planner's parts from its settings, and nothing else does."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from backtrack_shared.db import create_database_engine, database_reachable, upgrade_to_head
from backtrack_shared.rabbit import PikaConfirmedPublisher, PikaConsumer, broker_reachable
from backtrack_shared.relay import OutboxRelay
from backtrack_shared.topology import Topology
from planner.adapters.projection_store import (
    SqlAlchemyPlannerReader,
    SqlAlchemyRoutineOutbox,
    SqlAlchemyUnitOfWork,
)
from planner.config import Settings
from planner.entrypoints.consumer import message_handler
from planner.entrypoints.http import create_app
from planner.metrics import OUTBOX_BACKLOG
from planner.service_layer.apply import ApplyResult, apply_event

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Planner:
    settings: Settings
    engine: Engine
    app: Flask
    consumer: PikaConsumer
    relay: OutboxRelay


def migrate(engine: Engine) -> None:
    upgrade_to_head(engine, MIGRATIONS)


def bootstrap(settings: Settings) -> Planner:
    engine = create_database_engine(settings.database_url)
    topology = Topology(settings.broker_namespace)
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

    def apply(envelope: dict[str, Any]) -> ApplyResult:
        result = apply_event(lambda: SqlAlchemyUnitOfWork(engine), envelope)
        relay.wake()
        return result

    consumer = PikaConsumer(
        settings.amqp_url,
        topology,
        topology.planner_queue,
        message_handler(apply),
        prefetch=settings.prefetch,
        connection_name="planner-consumer",
    )
    app = create_app(
        reader=SqlAlchemyPlannerReader(engine),
        readiness_checks={
            "database": lambda: database_reachable(engine),
            "broker": lambda: broker_reachable(settings.amqp_url),
            "consumer": consumer.connected.is_set,
        },
    )
    return Planner(settings, engine, app, consumer, relay)
