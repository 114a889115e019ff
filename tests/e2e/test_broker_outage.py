"""1,000 events posted while RabbitMQ is stopped are all stored, and all reach the planner once
it is back; none is applied twice."""

import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select

from planner.adapters.tables import planner_events
from tests.e2e.client import metric
from tests.e2e.conftest import System
from tests.factories import new_user_id, pain
from traininglog.adapters.tables import events

pytestmark = pytest.mark.e2e

EVENTS, USERS = 1000, 20


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def applied_by_planner(system: System, users: list[str]) -> int:
    engine = create_engine(system.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(planner_events)
                .where(planner_events.c.user_id.in_(users))
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl on this machine")
def test_events_posted_while_the_broker_is_down_all_reach_the_planner_once(system: System):
    users = [new_user_id() for _ in range(USERS)]
    documents = [
        pain(users[i % USERS], score=i % 3, timing="after", day=i // USERS) for i in range(EVENTS)
    ]
    applied_before = sum(
        metric(system.planner.url, "planner_events_total", outcome=outcome)
        for outcome in ("routine_changed", "routine_unchanged")
    )

    rabbitmqctl("stop_app")
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(
                    lambda d: (
                        system.http.post(
                            f"{system.traininglog.url}/v1/events", json=d, timeout=30
                        ).status_code
                    ),
                    documents,
                )
            )
        assert statuses == [201] * EVENTS
        assert system.http.get(f"{system.traininglog.url}/readyz").status_code == 503
        assert metric(system.traininglog.url, "traininglog_outbox_backlog") >= EVENTS
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

    engine = create_engine(system.database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(events).where(events.c.user_id.in_(users))
        ).scalar_one()
    engine.dispose()
    assert stored == EVENTS

    deadline = time.monotonic() + 180
    while applied_by_planner(system, users) < EVENTS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert applied_by_planner(system, users) == EVENTS, system.planner.logs()
    # The planner may have taken them from the feed before the relay published them all: the
    # relay still must, and the planner skips each as a duplicate.
    while (
        metric(system.traininglog.url, "traininglog_outbox_backlog") and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert metric(system.traininglog.url, "traininglog_outbox_backlog") == 0
    applied_after = sum(
        metric(system.planner.url, "planner_events_total", outcome=outcome)
        for outcome in ("routine_changed", "routine_unchanged")
    )
    duplicates = metric(system.planner.url, "planner_events_total", outcome="duplicate")
    print(
        f"\nbroker outage: posted={EVENTS} accepted={statuses.count(201)} stored={stored} "
        f"applied={applied_after - applied_before} duplicates_skipped={duplicates:.0f}"
    )
    # Each applied once: a repeat delivery counts under outcome="duplicate" instead.
    assert applied_after - applied_before == EVENTS
