"""An event's whole path: an app's POST, the store, the relay, RabbitMQ, the planner, a routine
a client reads over HTTP and a routine.updated message it receives from the broker."""

import json
import time
from collections.abc import Iterator

import pika
import pytest

from backtrack_shared.topology import routine_routing_key
from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id, workout

pytestmark = pytest.mark.e2e


@pytest.fixture
def routine_updates(system: System) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    """A client's own queue bound to the planner's routine exchange, as an app would subscribe:
    with its own tenant's routing key (the tests' operator key writes as tenant ops)."""
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    channel = connection.channel()
    channel.exchange_declare(system.topology.routines_exchange, "topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(
        queue, system.topology.routines_exchange, routing_key=routine_routing_key("ops")
    )
    channel.my_queue = queue  # type: ignore[attr-defined]
    yield channel
    connection.close()


def routine_when_applied(
    system: System, user_id: str, position: int, timeout_s: float = 20
) -> dict:
    """Poll the routine until it reflects the event at `position`, as a client would."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = system.http.get(f"{system.planner.url}/v1/users/{user_id}/routine", timeout=5)
        if response.status_code == 200 and response.json()["applied_position"] >= position:
            return response.json()  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"event at {position} not applied:\n{system.planner.logs()}")


def test_post_baseline_and_workout_then_read_the_routine_and_receive_the_update(
    system: System, routine_updates
):
    user = new_user_id()
    assert system.http.get(f"{system.planner.url}/v1/users/{user}/routine").status_code == 404

    first = baseline(user)
    stored = system.http.post(f"{system.traininglog.url}/v1/events", json=first, timeout=5)
    assert stored.status_code == 201, stored.text
    second = workout(user, day=1)
    logged = system.http.post(f"{system.traininglog.url}/v1/events", json=second, timeout=5)
    assert logged.status_code == 201, logged.text

    routine = routine_when_applied(system, user, logged.json()["position"])
    assert routine["user_id"] == user and routine["status"] == "active"
    assert routine["version"] >= 1 and routine["rules_version"]
    prescriptions = [p for block in routine["blocks"] for p in block["prescriptions"]]
    assert prescriptions, routine
    for prescription in prescriptions:
        assert prescription["dose"]
        assert prescription["last_change"]["rule"]
        assert prescription["last_change"]["caused_by"]
    assert any(first["event_id"] in p["last_change"]["caused_by"] for p in prescriptions)

    deadline = time.monotonic() + 15
    received = []
    for method, properties, body in routine_updates.consume(
        routine_updates.my_queue, auto_ack=True, inactivity_timeout=1
    ):
        if method is not None:
            assert method.routing_key == "routine.updated.ops"
            received.append((properties, json.loads(body)))
        if any(m["user_id"] == user for _, m in received) or time.monotonic() > deadline:
            break
    updates = [m for _, m in received if m["user_id"] == user]
    assert updates and updates[0]["version"] == 1
    assert updates[0]["tenant"] == "ops"  # the client that wrote for the user, in the body
    assert {p.headers["tenant"] for p, m in received if m["user_id"] == user} == {"ops"}
    assert updates[0]["caused_by"] == [first["event_id"]]
    assert updates[0]["routine"]["blocks"]

    history = system.http.get(f"{system.planner.url}/v1/users/{user}/routine/history").json()
    assert [v["version"] for v in history["versions"]] == list(range(1, routine["version"] + 1))


def test_both_services_answer_health_readiness_metrics_and_openapi(system: System):
    for service in (system.traininglog, system.planner):
        assert system.http.get(f"{service.url}/healthz").json() == {"status": "ok"}
        ready = system.http.get(f"{service.url}/readyz").json()
        assert ready["status"] == "ok" and ready["checks"]["broker"] == "ok"
        assert system.http.get(f"{service.url}/metrics").status_code == 200
        assert system.http.get(f"{service.url}/openapi.json").json()["openapi"] == "3.0.3"


def test_logs_carry_the_event_id_across_both_services(system: System):
    user = new_user_id()
    document = baseline(user)
    response = system.http.post(f"{system.traininglog.url}/v1/events", json=document, timeout=5)
    routine_when_applied(system, user, response.json()["position"])

    def lines_with_event_id(text: str) -> list[dict]:
        parsed = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [line for line in parsed if line.get("event_id") == document["event_id"]]

    assert lines_with_event_id(system.traininglog.log_path.read_text())
    assert any(
        line["event"] == "event.applied"
        for line in lines_with_event_id(system.planner.log_path.read_text())
    )
