"""N planner processes on the real broker and PostgreSQL give the routines one planner gives.

The same seeded history (many users, shuffled arrival, duplicates) is posted to two systems of
their own: one with a single planner, one with three, of which one is SIGKILLed half-way and a
fourth joins later. Both must end with byte-identical routine versions for every user. `make
test` runs a history of 1,200 events; `make test-fleet` the 10,000 events of the issue.
"""

import contextlib
import os
import random
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from backtrack_shared.broker.topology import Topology
from planner.adapters.tables import planner_events
from tests.factories import BASE_TIME, envelope
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_ready
from tests.support.resources import delete_topology, own_database

pytestmark = pytest.mark.e2e


def seeded_history(seed: int, users: int, events: int) -> list[dict[str, Any]]:
    """`events` documents for `users` users, each starting with a baseline; arrival shuffled
    (a wearable's week comes late), about one in twenty posted twice. Ids from the seed."""
    rng = random.Random(seed)
    ids = [f"fleet-{seed}-{n}" for n in range(users)]
    documents: list[dict[str, Any]] = []

    def new(kind: str, payload: dict[str, Any], user: str, day: float) -> dict[str, Any]:
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = BASE_TIME + timedelta(days=day)
        return envelope(kind, payload, user_id=user, occurred_at=at, event_id=event_id)

    for user in ids:
        documents.append(
            new(
                "baseline.assessed",
                {"walk_min": 20, "plank_s": 20, "pain_at_rest": 2, "flexibility": "fair"},
                user,
                0,
            )
        )
    while len(documents) < events:
        user, day = rng.choice(ids), rng.randint(1, 60) + rng.random()
        if rng.random() < 0.6:
            payload = {
                "session_id": f"s-{rng.getrandbits(40):x}",
                "duration_min": 30,
                "exercises": [
                    {
                        "exercise": "walking",
                        "kind": "cardio",
                        "sets": [{"duration_min": 15}],
                        "completed": True,
                        "rpe": rng.randint(2, 6),
                    },
                    {
                        "exercise": "cat_cow",
                        "kind": "stretch",
                        "sets": [{"hold_s": 30}],
                        "completed": True,
                    },
                ],
            }
            documents.append(new("workout.logged", payload, user, day))
        else:
            payload = {
                "score": rng.choice([0, 1, 2, 2, 3, 4, 6, 8]),
                "timing": rng.choice(["during", "after", "next_morning", "rest"]),
                "location": "lower back",
            }
            documents.append(new("pain.reported", payload, user, day))
    baselines, rest = documents[:users], documents[users:]
    rng.shuffle(rest)  # every user's later events arrive in any order, late ones included
    arrival = baselines + rest
    for document in rng.sample(arrival, len(arrival) // 20):  # re-sent: stored once
        arrival.insert(rng.randrange(arrival.index(document), len(arrival)), document)
    return arrival


@dataclass
class Fleet:
    traininglog: Service
    planners: list[Service]
    environ: dict[str, str]
    database_url: str
    log_dir: Path
    http: requests.Session = field(default_factory=requests.Session)

    def add_planner(self) -> Service:
        port = free_port()
        name = f"planner{len(self.planners)}"
        environ = {**self.environ, "PLANNER_PORT": str(port), "PLANNER_INSTANCE": name}
        planner = start("planner", environ, port, self.log_dir)
        planner.log_path.rename(self.log_dir / f"{name}.log")
        planner.log_path = self.log_dir / f"{name}.log"
        wait_ready(planner, timeout_s=120)
        self.planners.append(planner)
        return planner

    def post(self, documents: list[dict[str, Any]]) -> None:
        for begin in range(0, len(documents), 250):
            chunk = documents[begin : begin + 250]
            answer = self.http.post(
                f"{self.traininglog.url}/v1/events/batch", json={"events": chunk}, timeout=60
            ).json()
            assert answer["counts"]["stored"] + answer["counts"]["duplicate"] == len(chunk), answer


@contextlib.contextmanager
def fleet(postgres_url: str, amqp_url: str, log_dir: Path, planners: int) -> Iterator[Fleet]:
    topology = Topology(namespace=f"e2e-fleet-{uuid.uuid4().hex[:8]}")
    log_dir.mkdir(parents=True)
    clients_file = KEYS.write(log_dir / "clients.json")
    with own_database(postgres_url, "fleet") as database_url:
        traininglog_port = free_port()
        environ = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TRAININGLOG_KEYS_DATABASE_URL": f"sqlite:///{log_dir / 'traininglog-keys.db'}",
            "AMQP_URL": amqp_url,
            "BROKER_NAMESPACE": topology.namespace,
            "PLANNER_PARTITIONS": str(topology.partitions),
            "PLANNER_PARTITION_LEASE_S": "3",
            "TRAININGLOG_PORT": str(traininglog_port),
            "PLANNER_TRAININGLOG_URL": f"http://127.0.0.1:{traininglog_port}",
            "PLANNER_CATCH_UP_INTERVAL_S": "5",
            "LOG_LEVEL": "WARNING",
            "CLIENTS_FILE": str(clients_file),
            "PLANNER_TRAININGLOG_API_KEY": KEYS.key["planner"],
            # Page links signed alike by every planner, and no secret file in the repository's data/.
            "PLANNER_PAGE_LINK_SECRET": "e2e-page-link-secret-" + "x" * 32,
            "TRAININGLOG_RATE_LIMIT_EVENTS_PER_S": "1000000",
            "TRAININGLOG_RATE_LIMIT_BURST": "1000000",
        }
        traininglog = start("traininglog", environ, traininglog_port, log_dir)
        running = Fleet(traininglog, [], environ, database_url, log_dir)
        running.http.headers.update(KEYS.header("ops"))
        try:
            wait_ready(traininglog)
            for _ in range(planners):  # one at a time: each migrates on start
                running.add_planner()
            yield running
        finally:
            for planner in running.planners:
                if planner.process.poll() is None:
                    stop(planner)
            stop(traininglog)
            delete_topology(amqp_url, topology)


def wait_applied(system: Fleet, expected: int, timeout_s: float) -> None:
    """Until the planners applied `expected` distinct events and their routine outbox is sent."""
    engine = create_engine(system.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                applied = connection.execute(
                    select(func.count()).select_from(planner_events)
                ).scalar_one()
            if applied >= expected:
                return
            time.sleep(1)
        logs = "\n".join(p.logs()[-2000:] for p in system.planners)
        raise AssertionError(f"{applied} of {expected} applied in {timeout_s}s\n{logs}")
    finally:
        engine.dispose()


def routine_versions(database_url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text(
                        "SELECT tenant, user_id, version, rules_version, as_of, applied_position,"
                        " caused_by, changes, routine FROM planner_routine_versions"
                        " ORDER BY tenant, user_id, version"
                    )
                )
            ]
    finally:
        engine.dispose()


def claims(database_url: str) -> dict[int, str | None]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT partition, instance FROM planner_partition_claims")
            )
            return {partition: instance for partition, instance in rows}
    finally:
        engine.dispose()


def wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout_s}s: {what}")
        time.sleep(0.5)


def three_planners_equal_one(
    postgres_url: str, amqp_url: str, tmp_path: Path, *, users: int, events: int
) -> None:
    history = seeded_history(seed=13, users=users, events=events)
    distinct = len({document["event_id"] for document in history})
    half = len(history) // 2
    timeout_s = 60 + events / 20  # generous: the machine is shared

    with fleet(postgres_url, amqp_url, tmp_path / "one", planners=1) as one:
        one.post(history)
        wait_applied(one, distinct, timeout_s)
        alone = routine_versions(one.database_url)

    with fleet(postgres_url, amqp_url, tmp_path / "three", planners=3) as three:
        names = {"planner0", "planner1", "planner2"}
        wait_for(
            lambda: set(claims(three.database_url).values()) == names,
            60,
            "the three share the partitions",
        )
        three.post(history[:half])
        killed = three.planners[1]
        killed.process.send_signal(signal.SIGKILL)  # its partitions move once its claims lapse
        killed.process.wait()
        three.post(history[half:])
        wait_for(
            lambda: set(claims(three.database_url).values()) == {"planner0", "planner2"},
            60,
            "the survivors hold every partition",
        )
        three.add_planner()  # a newcomer takes its share
        wait_for(
            lambda: "planner3" in set(claims(three.database_url).values()),
            60,
            "the new planner takes partitions",
        )
        wait_applied(three, distinct, timeout_s)
        shared = routine_versions(three.database_url)

    assert len(alone) > users  # every user has versions, most more than one
    assert shared == alone  # byte for byte: every column of every version of every user


def test_three_planners_one_killed_one_added_give_the_routines_of_one(
    postgres_url: str, amqp_url: str, tmp_path: Path
):
    three_planners_equal_one(postgres_url, amqp_url, tmp_path, users=60, events=1200)


@pytest.mark.fleet
def test_ten_thousand_events_three_planners_equal_one(
    postgres_url: str, amqp_url: str, tmp_path: Path
):
    three_planners_equal_one(postgres_url, amqp_url, tmp_path, users=400, events=10_000)
