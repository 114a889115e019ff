"""`planner webhooks`: the dispatcher as a process of its own, beside the planners. Run as many
as you like on one database and broker: they share the queue of routine messages, and each
delivery is claimed by one of them per try."""

import signal
import threading

import pika
import structlog

from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine
from planner.config import Settings
from planner.webhooks.dispatcher import CLAIM_MARGIN_S, WebhookDispatcher
from planner.webhooks.routines_queue import RoutinesQueueConsumer
from planner.webhooks.sender import HttpSender
from planner.webhooks.store import SqlAlchemyWebhookStore

log = structlog.get_logger(__name__)


def run_dispatcher(settings: Settings, stop: threading.Event | None = None) -> None:
    from planner.bootstrap import migrate

    stop = stop or threading.Event()
    engine = create_database_engine(settings.database_url)
    migrate(engine)
    dispatcher = WebhookDispatcher(
        SqlAlchemyWebhookStore(engine),
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
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    consuming = threading.Thread(target=consumer.run, args=(stop,), name="webhooks-consumer")
    consuming.start()
    log.info("webhooks.started")
    dispatcher.run(stop)
    consuming.join()
    engine.dispose()
