"""The broker is no open room: an event message on the events exchange that traininglog's broker
user did not publish is dropped by the planner, counted and logged, never applied. Run with the
broker user of the tests (guest on the project's machine): whoever else can write to the
exchange, a message without traininglog's `user_id` changes nothing."""

import json
import time
from typing import Any

import pika
import pytest
import requests

from tests.e2e.client import UNTRUSTED, acme_user_applied, forged_grant, metric, session
from tests.e2e.conftest import System
from tests.factories import pain

pytestmark = pytest.mark.e2e

def publish(system: System, envelope: dict[str, Any], **properties: Any) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            system.topology.events_exchange,
            envelope["type"],
            json.dumps(envelope).encode(),
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=envelope["event_id"],
                type=envelope["type"],
                headers={"user_id": envelope["user_id"], "tenant": envelope["tenant"]},
                **properties,
            ),
            mandatory=True,
        )
    finally:
        connection.close()


def wait_for_metric(url: str, name: str, at_least: float, timeout_s: float = 60) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        value = metric(url, name)
        if value >= at_least or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_forged_access_granted_without_traininglogs_user_id_is_dropped_and_counted(
    system: System,
):
    user = acme_user_applied(system)
    routine_url = f"{system.planner.url}/v1/users/{user}/routine"
    # How a granted client would reach acme's user: naming the owner.
    as_granted = f"{routine_url}?owner=acme"
    assert session("globex").get(as_granted, timeout=10).status_code == 404
    before = metric(system.planner.url, UNTRUSTED)

    publish(system, forged_grant(system, user, "globex"))  # no user_id property

    # A genuine event of the same user after it: once applied, the forged one was settled
    # (the planner's queue is consumed in order), and not held.
    answer = session("acme").post(
        f"{system.traininglog.url}/v1/events", json=pain(user, score=3, day=2), timeout=5
    )
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = session("acme").get(routine_url, timeout=10).json()
        if current["applied_position"] >= answer.json()["position"]:
            break
        time.sleep(0.2)
    assert current["applied_position"] >= answer.json()["position"]
    # tenant B never got in, on either service
    assert session("globex").get(as_granted, timeout=10).status_code == 404
    events_url = f"{system.traininglog.url}/v1/users/{user}/events?owner=acme"
    assert session("globex").get(events_url, timeout=10).status_code == 404
    assert wait_for_metric(system.planner.url, UNTRUSTED, before + 1) == before + 1
    assert "consumer.untrusted_event_dropped" in system.planner.logs()


def test_metrics_name_the_untrusted_counter(system: System):
    text = requests.get(f"{system.planner.url}/metrics", timeout=5).text
    assert f"# TYPE {UNTRUSTED} counter" in text
