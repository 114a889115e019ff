"""`planner webhooks`: the dispatcher as a process of its own, beside the planners. Run as many
as you like on one database and broker: they share the queue of routine messages, and each
delivery is claimed by one of them per try. It answers /healthz, /readyz (database and broker)
and /metrics on PLANNER_WEBHOOKS_PORT, as the services do."""

import threading

import pika
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from backtrack_shared.broker.connection import broker_reachable
from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine, database_reachable
from backtrack_shared.serve import Worker, serve
from backtrack_shared.web import create_api, ops_blueprint
from planner.config import Settings
from planner.metrics import WEBHOOK_DEAD_LETTERS, WEBHOOK_PENDING
from planner.webhooks.dispatcher import CLAIM_MARGIN_S, WebhookDispatcher
from planner.webhooks.routines_queue import RoutinesQueueConsumer
from planner.webhooks.sender import HttpSender
from planner.webhooks.store import DEAD, PENDING, SqlAlchemyWebhookStore


def ops_app(engine: Engine, settings: Settings, store: SqlAlchemyWebhookStore) -> Flask:
    """/healthz, /readyz and /metrics of the dispatcher; the deliveries waiting and dead are
    counted in the database when /metrics is read (NaN while it does not answer)."""

    def in_state(state: str) -> float:
        try:
            return store.counts().get(state, 0)
        except SQLAlchemyError:
            return float("nan")  # /readyz says the database is unavailable

    WEBHOOK_PENDING.set_function(lambda: in_state(PENDING))
    WEBHOOK_DEAD_LETTERS.set_function(lambda: in_state(DEAD))
    app = Flask("planner-webhooks")
    api = create_api(
        app,
        title="planner webhooks",
        version="1",
        description="Backtrack's webhook dispatcher: its health, readiness and metrics.",
    )
    api.register_blueprint(
        ops_blueprint(
            {
                "database": lambda: database_reachable(engine),
                "broker": lambda: broker_reachable(settings.amqp_url),
            }
        )
    )
    return app


def run_dispatcher(settings: Settings) -> None:
    from planner.bootstrap import migrate

    engine = create_database_engine(settings.database_url)
    migrate(engine)
    store = SqlAlchemyWebhookStore(engine)
    dispatcher = WebhookDispatcher(
        store,
        HttpSender(timeout_s=settings.webhook_timeout_s),
        link_base=settings.public_url or f"http://{settings.host}:{settings.port}",
        workers=settings.webhook_workers,
        claim_s=settings.webhook_timeout_s + CLAIM_MARGIN_S,
    )
    planner_broker_user = pika.URLParameters(settings.amqp_url).credentials.username
    consumer = RoutinesQueueConsumer(
        settings.amqp_url,
        Topology(settings.broker_namespace, partitions=settings.partitions),
        dispatcher.accept,
        trusted_publisher=planner_broker_user,
    )
    stop = threading.Event()
    serve(
        ops_app(engine, settings, store),
        host=settings.host,
        port=settings.webhooks_port,
        threads=2,
        workers=[
            Worker("webhooks-consumer", lambda: consumer.run(stop), stop.set),
            Worker("webhooks-dispatcher", lambda: dispatcher.run(stop), stop.set),
        ],
    )
    engine.dispose()
