"""Two traininglog processes behind haproxy, on one PostgreSQL database and one Redis: any of
them takes any request, and a client's write limit is one limit, not one per process."""

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from backtrack_shared.broker.topology import Topology
from tests.e2e.client import metric
from tests.factories import new_user_id, pain
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_ready
from tests.support.resources import delete_topology, own_database

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("RATE_LIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
PROXY_CONFIG = Path(__file__).parents[2] / "deploy" / "haproxy" / "traininglog.cfg"
BURST = 20  # events a client may spend at once; refilled at 0.2 a second: none during the test


@pytest.fixture
def two_traininglogs(postgres_url: str, amqp_url: str, tmp_path: Path) -> Iterator[list[Service]]:
    topology = Topology(namespace=f"e2e-tlfleet-{uuid.uuid4().hex[:8]}")
    with own_database(postgres_url, "tlfleet") as database_url:
        environ = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TRAININGLOG_KEYS_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
            "AMQP_URL": amqp_url,
            "BROKER_NAMESPACE": topology.namespace,  # the limits' keys in Redis, too
            "CLIENTS_FILE": str(KEYS.write(tmp_path / "clients.json")),
            "RATE_LIMIT_STORAGE_URL": REDIS_URL,
            "TRAININGLOG_MAX_BATCH_EVENTS": "10",
            "TRAININGLOG_RATE_LIMIT_BURST": str(BURST),
            "TRAININGLOG_RATE_LIMIT_EVENTS_PER_S": "0.2",
        }
        services: list[Service] = []
        try:
            for n in range(2):
                port = free_port()
                (tmp_path / f"tl{n}").mkdir()
                service = start(
                    "traininglog",
                    {**environ, "TRAININGLOG_PORT": str(port)},
                    port,
                    tmp_path / f"tl{n}",
                )
                services.append(service)
                wait_ready(service)  # one at a time: each migrates on start
            yield services
        finally:
            for service in services:
                stop(service)
            delete_topology(amqp_url, topology)


@pytest.fixture
def proxy(two_traininglogs: list[Service], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    environ = {
        **os.environ,
        "TRAININGLOG_PROXY_BIND": f"127.0.0.1:{port}",
        "TRAININGLOG_1_ADDRESS": two_traininglogs[0].url.removeprefix("http://"),
        "TRAININGLOG_2_ADDRESS": two_traininglogs[1].url.removeprefix("http://"),
    }
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(PROXY_CONFIG)],
        env=environ,
        stdout=(tmp_path / "haproxy.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "haproxy.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(url: str, user: str, client: str = "ops") -> requests.Response:
    return requests.post(
        f"{url}/v1/events", json=pain(user, score=2), headers=KEYS.header(client), timeout=30
    )


def test_two_processes_spend_from_one_limit_in_redis(two_traininglogs: list[Service]):
    first, second = (service.url for service in two_traininglogs)
    user = new_user_id()
    assert all(post(first, user).status_code == 201 for _ in range(BURST - 5))
    # Each process alone would still have a whole burst: the second has 5 events left.
    assert all(post(second, user).status_code == 201 for _ in range(5))
    refused = post(second, user)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert post(first, user).status_code == 429
    # Another client's limit is its own.
    assert post(second, new_user_id(), client="acme").status_code == 201


def test_the_proxy_spreads_writes_over_both_and_the_log_stays_one(
    two_traininglogs: list[Service], proxy: str
):
    user = new_user_id()
    positions = []
    for _ in range(BURST):
        answer = post(proxy, user)
        assert answer.status_code == 201, answer.text
        positions.append(answer.json()["position"])
    assert post(proxy, user).status_code == 429  # the limit of both, through one address
    # Both processes took requests (round robin), and the user's stream is one gapless stream.
    for service in two_traininglogs:
        assert metric(service.url, "traininglog_events_total", outcome="stored") >= BURST // 2 - 1
    stream = requests.get(
        f"{proxy}/v1/users/{user}/events",
        params={"after_version": 0, "limit": 100},
        headers=KEYS.header("ops"),
        timeout=30,
    ).json()
    versions = [event["stream_version"] for event in stream["events"]]
    assert versions == list(range(1, BURST + 1))
    assert sorted(positions) == positions
