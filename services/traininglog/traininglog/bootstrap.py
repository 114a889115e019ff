"""The composition root: builds traininglog's parts from its settings, and nothing else does."""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from backtrack_shared.auth.clients_file import WatchedClientsFile
from backtrack_shared.broker.connection import broker_reachable
from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine, database_reachable, scrub, upgrade_to_head
from backtrack_shared.serve import Worker
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.adapters.key_cache import KeyCache
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.outbox import SqlAlchemyEventOutbox
from traininglog.config import Settings
from traininglog.entrypoints.http import create_app
from traininglog.metrics import OUTBOX_BACKLOG
from traininglog.service_layer.group_commit import GroupCommit
from traininglog.service_layer.ingest import record_requests
from traininglog.service_layer.users import delete_erased_keys

MIGRATIONS = Path(__file__).parent / "migrations"
KEY_MIGRATIONS = Path(__file__).parent / "key_migrations"


@dataclass
class TrainingLog:
    settings: Settings
    engine: Engine
    keys: SqlAlchemyKeyStore
    app: Flask
    relay: OutboxRelay
    appender: GroupCommit
    key_cache: KeyCache

    def workers(self) -> list[Worker]:
        return [
            Worker("key-deletions", self.key_cache.run, self.key_cache.stop),
            Worker("appender", self.appender.run, self.appender.stop),
            Worker("outbox-relay", self.relay.run, self.relay.stop),
        ]


def migrate(engine: Engine, keys: SqlAlchemyKeyStore) -> None:
    """Migrate the key database, then the event store (which may move keys into it); scrub what
    a migration deleted; finish the key deletion of an erasure that stopped half-way."""
    upgrade_to_head(keys.engine, KEY_MIGRATIONS)
    attributes: dict[str, Any] = {"key_store": keys}
    upgrade_to_head(engine, MIGRATIONS, attributes)
    if attributes.get("scrub_tables"):
        scrub(engine, attributes["scrub_tables"], rewrite=True)
    delete_erased_keys(lambda: SqlAlchemyUnitOfWork(engine, keys))


def bootstrap(settings: Settings) -> TrainingLog:
    # No pre-ping: the appender records a group again on a dropped connection, and the relay
    # and the readers answer or retry as for any database error.
    engine = create_database_engine(settings.database_url, pre_ping=False)
    keys_engine = create_database_engine(settings.keys_database_url, pre_ping=False)
    key_cache = KeyCache(listen_dsn(keys_engine))
    keys = SqlAlchemyKeyStore(keys_engine, key_cache)
    topology = Topology(settings.broker_namespace)
    outbox = SqlAlchemyEventOutbox(engine, keys)
    relay = OutboxRelay(
        outbox,
        # traininglog's broker user declares (and may declare) the events exchange alone.
        PikaConfirmedPublisher(
            settings.amqp_url,
            topology,
            connection_name="traininglog-relay",
            declare=topology.declare_events,
        ),
        topology.events_exchange,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    OUTBOX_BACKLOG.set_function(outbox.backlog)

    def unit_of_work() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine, keys)

    appender = GroupCommit(
        functools.partial(record_requests, unit_of_work), max_events=settings.max_batch_events
    )
    app = create_app(
        settings,
        unit_of_work=unit_of_work,
        reader=SqlAlchemyEventReader(engine, keys),
        readiness_checks={
            "database": lambda: database_reachable(engine) and database_reachable(keys.engine),
            "broker": lambda: broker_reachable(settings.amqp_url),
        },
        registry=WatchedClientsFile(settings.clients_file).registry,
        on_recorded=relay.wake,
        record=appender.record,
    )
    return TrainingLog(settings, engine, keys, app, relay, appender, key_cache)


def listen_dsn(engine: Engine) -> str | None:
    """Where a process hears of key deletions (PostgreSQL's LISTEN); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
