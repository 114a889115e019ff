"""Both services as processes, each under a broker user of its own that the project's script
(`backtrack-broker users`) put on this machine's RabbitMQ: events flow end to end, a tenant's
subscriber (`backtrack-broker tenant`) gets its own routine updates, and an event published by
any other broker user, even one allowed to write to the events exchange, is dropped and counted."""

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pika
import pytest
import requests

from backtrack_shared.broker.setup import Rabbitmqctl
from backtrack_shared.broker.topology import Topology
from backtrack_shared.broker.users import BrokerUser, Permissions, TopicPermission, exactly
from tests.broker_users import (
    broker_users,
    delete_soon,
    require_rabbitmqctl,
    unique_name,
    url_for,
)
from tests.e2e.client import UNTRUSTED, acme_user_applied, forged_grant, metric, session
from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id, pain
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_ready
from tests.support.resources import delete_topology

pytestmark = pytest.mark.e2e


def backtrack_broker(environ: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backtrack_shared.broker.cli", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def fenced(
    e2e_database: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    require_rabbitmqctl(amqp_url)
    topology = Topology(namespace=f"e2e-fenced-{uuid.uuid4().hex[:10]}")
    names = {"traininglog": unique_name("tl"), "planner": unique_name("pl")}
    urls = {
        service: url_for(amqp_url, name, secrets.token_urlsafe(16))
        for service, name in names.items()
    }
    log_dir = tmp_path_factory.mktemp("logs")
    clients_file = KEYS.write(tmp_path_factory.mktemp("secrets") / "clients.json")
    traininglog_port, planner_port = free_port(), free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": e2e_database,
        "AMQP_URL": "amqp://nobody:nothing@127.0.0.1:1/%2F",  # neither service may use it
        "TRAININGLOG_AMQP_URL": urls["traininglog"],
        "PLANNER_AMQP_URL": urls["planner"],
        "BROKER_NAMESPACE": topology.namespace,
        "PLANNER_PARTITIONS": str(topology.partitions),
        "TRAININGLOG_PORT": str(traininglog_port),
        "PLANNER_PORT": str(planner_port),
        "PLANNER_TRAININGLOG_URL": f"http://127.0.0.1:{traininglog_port}",
        "PLANNER_CATCH_UP_INTERVAL_S": "3600",  # events must come over the broker, not the feed
        "CLIENTS_FILE": str(clients_file),
        "PLANNER_TRAININGLOG_API_KEY": KEYS.key["planner"],
        # Page links signed alike by every planner, and no secret file in the repository's data/.
        "PLANNER_PAGE_LINK_SECRET": "e2e-page-link-secret-" + "x" * 32,
    }
    said = backtrack_broker(environ, "users")
    assert (
        f"broker user {names['traininglog']}" in said and f"broker user {names['planner']}" in said
    )
    services: list[Service] = []
    try:
        services.append(start("traininglog", environ, traininglog_port, log_dir))
        wait_ready(services[0])
        services.append(start("planner", environ, planner_port, log_dir))
        wait_ready(services[1], timeout_s=120)
        http = requests.Session()
        http.headers.update(KEYS.header("ops"))
        yield System(*services, topology, e2e_database, amqp_url, environ, log_dir, http)
    finally:
        for service in reversed(services):
            stop(service)
        for name in names.values():
            delete_soon(Rabbitmqctl(), name)
        delete_topology(amqp_url, topology)


def test_both_services_run_under_their_own_broker_users(fenced: System):
    user = acme_user_applied(fenced)  # stored by traininglog, applied by the planner's consumer
    assert session("acme").get(f"{fenced.planner.url}/v1/users/{user}/routine").status_code == 200
    assert metric(fenced.planner.url, UNTRUSTED) == 0


def test_a_tenants_subscriber_gets_its_own_routine_updates_and_cannot_bind_to_anothers(
    fenced: System,
):
    name, password = unique_name("acme-app"), secrets.token_urlsafe(16)
    said = backtrack_broker(
        {**fenced.environ, "BROKER_USER_PASSWORD": password}, "tenant", "acme", name
    )
    topology = fenced.topology
    queue = f"{topology.subscriber_queue_prefix('acme')}routines"
    assert queue in said and "routine.updated.acme" in said  # how to subscribe, as documented
    try:
        connection = pika.BlockingConnection(
            pika.URLParameters(url_for(fenced.amqp_url, name, password))
        )
        try:
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="ACCESS_REFUSED"):
                channel = connection.channel()
                channel.queue_declare(queue, exclusive=True)
                channel.queue_bind(queue, topology.routines_exchange, "routine.updated.globex")
            channel = connection.channel()
            channel.queue_declare(queue, exclusive=True)
            channel.queue_bind(queue, topology.routines_exchange, "routine.updated.acme")
            globex_user = new_globex_user(fenced)
            acme_user = acme_user_applied(fenced)
            got = []
            deadline = time.monotonic() + 60
            for method, properties, body in channel.consume(queue, inactivity_timeout=1):
                if method is not None:
                    channel.basic_ack(method.delivery_tag)
                    got.append((method.routing_key, json.loads(body)["user_id"]))
                    assert properties.user_id == broker_user_of(fenced, "PLANNER_AMQP_URL")
                if any(user == acme_user for _, user in got) or time.monotonic() > deadline:
                    break
            assert ("routine.updated.acme", acme_user) in got
            assert all(key == "routine.updated.acme" for key, _ in got)
            assert globex_user not in {user for _, user in got}
        finally:
            connection.close()
        assert backtrack_broker(fenced.environ, "delete", name).strip() == "deleted"
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(url_for(fenced.amqp_url, name, password)))
    finally:
        delete_soon(Rabbitmqctl(), name)


def broker_user_of(system: System, variable: str) -> str:
    return str(pika.URLParameters(system.environ[variable]).credentials.username)  # type: ignore[attr-defined]


def new_globex_user(system: System) -> str:
    user = new_user_id()
    answer = session("globex").post(
        f"{system.traininglog.url}/v1/events", json=baseline(user), timeout=5
    )
    assert answer.status_code == 201, answer.text
    return user


def test_an_event_from_another_broker_user_with_write_permission_is_dropped_and_counted(
    fenced: System,
):
    user = acme_user_applied(fenced)
    before = metric(fenced.planner.url, UNTRUSTED)
    topology = fenced.topology
    with broker_users(fenced.amqp_url, topology) as users:
        writer = users.put(
            BrokerUser(
                unique_name("writer"),
                Permissions(configure="^$", write=exactly([topology.events_exchange]), read="^$"),
                (TopicPermission(topology.events_exchange, write=".*", read="^$"),),
            )
        )
        forged = forged_grant(fenced, user, "globex")
        connection = pika.BlockingConnection(pika.URLParameters(writer))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            own = str(pika.URLParameters(writer).credentials.username)  # type: ignore[attr-defined]
            for user_id in (None, own):
                channel.basic_publish(
                    topology.events_exchange,
                    forged["type"],
                    json.dumps(forged).encode(),
                    pika.BasicProperties(message_id=forged["event_id"], user_id=user_id),
                    mandatory=True,
                )
        finally:
            connection.close()
    answer = session("acme").post(
        f"{fenced.traininglog.url}/v1/events", json=pain(user, score=3, day=2), timeout=5
    )
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 60
    routine_url = f"{fenced.planner.url}/v1/users/{user}/routine"
    while (
        session("acme").get(routine_url, timeout=10).json()["applied_position"]
        < answer.json()["position"]
    ):
        assert time.monotonic() < deadline, fenced.planner.logs()
        time.sleep(0.2)
    as_granted = f"{routine_url}?owner=acme"
    assert session("globex").get(as_granted, timeout=10).status_code == 404
    assert metric(fenced.planner.url, UNTRUSTED) == before + 2
