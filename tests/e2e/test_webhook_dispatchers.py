"""The webhook dispatcher as the production process it is (`planner webhooks`): it answers ready
and counts its work on /metrics, and two of them on one database deliver each notification once.
Real processes, PostgreSQL, RabbitMQ (their queue) and a receiving HTTP server on loopback."""

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine
from planner.webhooks.policy import ROUTINE_UPDATED, delivery_id, encode, notification
from planner.webhooks.store import DELIVERED, SqlAlchemyWebhookStore
from tests.support.processes import Service, free_port, running
from tests.support.receiver import Receiver
from tests.support.resources import delete_topology, own_database
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    with own_database(postgres_url, "webhooks_e2e") as url:
        yield url


@pytest.fixture
def topology(amqp_url: str) -> Iterator[Topology]:
    names = Topology(namespace=f"e2e-webhooks-{uuid.uuid4().hex[:10]}")
    yield names
    delete_topology(amqp_url, names)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@contextlib.contextmanager
def dispatcher(
    name: str, database: str, amqp_url: str, topology: Topology, log_dir: Path
) -> Iterator[Service]:
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database,
        "AMQP_URL": amqp_url,
        "BROKER_NAMESPACE": topology.namespace,
        "PLANNER_WEBHOOKS_PORT": str(port),
        "PLANNER_PUBLIC_URL": "http://planner.test",
        "LOG_LEVEL": "INFO",
    }
    argv = ["-m", "planner", "webhooks"]
    with running(name, environ, port, log_dir, argv=argv) as service:
        yield service


def notifications(engine: Engine, receiver: Receiver, count: int) -> SqlAlchemyWebhookStore:
    """An endpoint of acme's at the receiver, and `count` routine updates of one user for it."""
    store = SqlAlchemyWebhookStore(engine)
    store.put_endpoint("acme", "app", receiver.url, [ROUTINE_UPDATED])
    user = f"user-{uuid.uuid4().hex[:8]}"
    rows = []
    for version in range(1, count + 1):
        message = {"type": ROUTINE_UPDATED, "tenant": "acme", "user_id": user, "version": version}
        message_id = str(uuid.uuid4())
        rows.append(
            {
                "delivery_id": delivery_id(message_id, "acme", "app"),
                "client_id": "acme",
                "endpoint_id": "app",
                "user_id": user,
                "event_type": ROUTINE_UPDATED,
                "body": encode(notification(message, "http://planner.test")),
            }
        )
    store.add_deliveries(rows)
    return store


def metrics(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"{service.url}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delivered_by(service: Service) -> float:
    return metrics(service).get(("planner_webhook_tries_total", (("outcome", "delivered"),)), 0)


def test_the_dispatcher_answers_ready_and_counts_what_it_delivers(
    database: str, amqp_url: str, topology: Topology, receiver: Receiver, tmp_path: Path
) -> None:
    with dispatcher("webhooks", database, amqp_url, topology, tmp_path) as service:
        ready = requests.get(f"{service.url}/readyz", timeout=5).json()
        assert ready == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
        engine = create_database_engine(database)  # migrated by the dispatcher as it started
        try:
            store = notifications(engine, receiver, 3)
            wait_until(lambda: len(store.of_client("acme", DELIVERED)) == 3)
        finally:
            engine.dispose()
        figures = metrics(service)
    assert receiver.verifications == 1
    assert figures[("planner_webhook_verifications_total", (("outcome", "verified"),))] == 1
    assert figures[("planner_webhook_tries_total", (("outcome", "delivered"),))] == 3
    assert figures[("planner_webhook_pending", ())] == 0
    assert figures[("planner_webhook_dead_letters", ())] == 0


def test_two_dispatcher_processes_deliver_each_notification_once(
    database: str, amqp_url: str, topology: Topology, receiver: Receiver, tmp_path: Path
) -> None:
    count = 40
    with (
        dispatcher("webhooks-1", database, amqp_url, topology, tmp_path) as first,
        dispatcher("webhooks-2", database, amqp_url, topology, tmp_path) as second,
    ):
        engine = create_database_engine(database)
        try:
            store = notifications(engine, receiver, count)
            wait_until(lambda: len(store.of_client("acme", DELIVERED)) == count, timeout_s=60)
        finally:
            engine.dispose()
        by_each = [delivered_by(first), delivered_by(second)]
    ids = [headers["webhook-id"] for headers, _ in receiver.delivered()]
    assert len(receiver.notifications) == len(ids) == len(set(ids)) == count
    assert receiver.verifications == 1
    assert sum(by_each) == count
