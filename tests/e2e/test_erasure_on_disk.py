"""Erasure that erases, with both services as processes on SQLite files in one data folder (as
`make run` keeps them) and the real broker: after `DELETE /v1/users/{id}`, no file of the folder
(databases, write-ahead logs and their index files included) and no dead letter holds the
user's words or their data key, while another user stays whole."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pika
import pytest
import requests

from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.topology import Topology
from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_ready
from tests.support.resources import delete_topology
from tests.traces import (
    dead_letters_holding,
    files_holding,
    keys_that_open,
    loose_modes,
    sealed_bodies,
)

pytestmark = pytest.mark.e2e

# Words only this user wrote: found anywhere after the erasure, they were not erased.
WORDS = f"quixotic-zebra-{uuid.uuid4().hex[:12]}"


@dataclass
class OnDisk:
    traininglog: Service
    planner: Service
    data: Path
    environ: dict[str, str]
    topology: Topology


@pytest.fixture
def on_disk(amqp_url: str, tmp_path: Path) -> Iterator[OnDisk]:
    data, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    topology = Topology(namespace=f"e2e-{uuid.uuid4().hex[:10]}")
    log_port, plan_port = free_port(), free_port()
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("DATABASE_URL")  # the SQLite defaults under the data folder
    }
    environ.update(
        {
            "BACKTRACK_DATA_DIR": str(data),
            "AMQP_URL": amqp_url,
            "BROKER_NAMESPACE": topology.namespace,
            "PLANNER_PARTITIONS": str(topology.partitions),
            "TRAININGLOG_PORT": str(log_port),
            "PLANNER_PORT": str(plan_port),
            "PLANNER_TRAININGLOG_URL": f"http://127.0.0.1:{log_port}",
            "PLANNER_CATCH_UP_INTERVAL_S": "1",
            "PLANNER_TRAININGLOG_API_KEY": KEYS.key["planner"],
        }
    )
    data.mkdir()
    KEYS.write(data / "clients.json")
    traininglog = start("traininglog", environ, log_port, logs)
    planner = None
    try:
        wait_ready(traininglog, timeout_s=60)
        planner = start("planner", environ, plan_port, logs)
        wait_ready(planner, timeout_s=60)
        yield OnDisk(traininglog, planner, data, environ, topology)
    finally:
        if planner is not None:
            stop(planner)
        stop(traininglog)
        delete_topology(amqp_url, topology)


def http(client_id: str) -> requests.Session:
    session = requests.Session()
    session.headers.update(KEYS.header(client_id))
    return session


def wait_for(condition, what: str, system: OnDisk, timeout_s: float = 90):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} within {timeout_s}s\n{system.traininglog.logs()}\n{system.planner.logs()}"
            )
        time.sleep(0.3)


def publish_unreadable_copy(amqp_url: str, topology: Topology, user: str) -> str:
    """A message of the user's the planner cannot read (cut short), with their words in it:
    the planner dead-letters it at once, as it would any event it cannot apply. Published as
    traininglog's broker user (the tests' one user), whose events alone the planner takes."""
    message_id = str(uuid.uuid4())
    body = json.dumps({"event_id": message_id, "user_id": user, "location": WORDS})[:-1]
    parameters = pika.URLParameters(amqp_url)
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            topology.events_exchange,
            "pain.reported",
            body.encode(),
            pika.BasicProperties(
                message_id=message_id,
                delivery_mode=2,
                user_id=parameters.credentials.username,
                headers={"user_id": user, "tenant": "acme"},
            ),
            mandatory=True,
        )
    finally:
        connection.close()
    return message_id


def planner_cli(system: OnDisk, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        env=system.environ,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode()


def test_after_an_erasure_no_file_and_no_dead_letter_holds_the_users_words_or_key(
    on_disk: OnDisk, amqp_url: str
):
    log, plan = on_disk.traininglog.url, on_disk.planner.url
    acme, ops = http("acme"), http("ops")
    user, kept = new_user_id(), new_user_id()
    documents = [
        baseline(user),
        workout(user, day=1),
        pain(user, score=7, day=2, location=WORDS, red_flags=["saddle_numbness"]),
        baseline(kept),
        pain(kept, score=2, day=1),
    ]
    for document in documents:
        answer = acme.post(f"{log}/v1/events", json=document, timeout=10)
        assert answer.status_code == 201, answer.text
    wait_for(
        lambda: (
            acme.get(f"{plan}/v1/users/{user}/routine", timeout=10).json().get("status") == "paused"
        ),
        "the red flag paused the routine",
        on_disk,
    )
    letters = PikaDeadLetters(amqp_url, on_disk.topology)
    dead = publish_unreadable_copy(amqp_url, on_disk.topology, user)
    wait_for(lambda: any(x.message_id == dead for x in letters.list()), "dead-lettered", on_disk)
    assert WORDS in planner_cli(on_disk, "dead-letters", "show", dead)

    (sealed, *_) = sealed_bodies(on_disk.data / "traininglog.db", user)
    (key,) = keys_that_open(on_disk.data, *sealed)
    secrets = [WORDS.encode(), key]
    # Before: the words are on disk (the planner's projections) and in the dead letter, the key
    # in a database, so the look below can see them.
    assert files_holding(on_disk.data, [WORDS.encode()])
    assert files_holding(on_disk.data, [key])
    assert dead_letters_holding(letters, secrets)

    answer = ops.delete(f"{log}/v1/users/{user}?owner=acme", timeout=30)
    assert answer.status_code == 200, answer.text
    wait_for(
        lambda: acme.get(f"{plan}/v1/users/{user}/routine", timeout=10).status_code == 404,
        "the planner applied the erasure",
        on_disk,
    )

    def traces() -> list[str]:
        return files_holding(on_disk.data, secrets) + dead_letters_holding(letters, secrets)

    deadline = time.monotonic() + 60
    while traces() and time.monotonic() < deadline:
        time.sleep(0.5)
    found = traces()
    assert not found, "the erased user is still readable in:\n" + "\n".join(found)
    assert dead not in planner_cli(on_disk, "dead-letters", "list")
    assert loose_modes(on_disk.data) == []

    # The other user is whole, on both services.
    assert len(acme.get(f"{log}/v1/users/{kept}/events", timeout=10).json()["events"]) == 2
    assert acme.get(f"{plan}/v1/users/{kept}/routine", timeout=10).status_code == 200
