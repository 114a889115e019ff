"""Security over real HTTP, with both services as processes: tenants kept apart on every user
endpoint of both, the tenant carried on the broker, and erasure end to end with a full replay
that leaves every other user's routine versions exactly as they were."""

import json
import time

import pika
import pytest

from tests.e2e.client import (
    acme_user_applied,
    history,
    routine,
    session,
    wait_applied,
    wait_rebuilt,
)
from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id, pain, workout

pytestmark = pytest.mark.e2e


def user_endpoints(system: System, user: str, owner: str | None = None) -> list[str]:
    """Every user endpoint of both services for `user` (of `owner`'s, naming them)."""
    planner = f"{system.planner.url}/v1/users/{user}"
    urls = [
        f"{system.traininglog.url}/v1/users/{user}/events",
        f"{planner}/routine",
        f"{planner}/routine?as_of=2026-09-03T00:00:00Z",
        f"{planner}/progress",
        f"{planner}/routine/history",
        f"{planner}/audit",
    ]
    if owner is None:
        return urls
    return [f"{url}{'&' if '?' in url else '?'}owner={owner}" for url in urls]


def test_a_client_sees_its_own_users_and_another_client_gets_404_everywhere(system: System):
    user = acme_user_applied(system)
    for url in user_endpoints(system, user):
        assert session("acme").get(url, timeout=10).status_code == 200, url
        assert session("globex").get(url, timeout=10).status_code == 404, url  # its own: nobody
        assert session(None).get(url, timeout=10).status_code == 401, url
    for url in user_endpoints(system, user, owner="acme"):
        assert session("globex").get(url, timeout=10).status_code == 404, url  # not granted
    write = session("globex").post(
        f"{system.traininglog.url}/v1/events?owner=acme", json=pain(user, score=9), timeout=5
    )
    assert write.status_code == 404
    reader = session("reader")
    assert (
        reader.post(
            f"{system.traininglog.url}/v1/events", json=baseline(new_user_id()), timeout=5
        ).status_code
        == 403
    )


def test_the_tenant_travels_with_the_event_on_the_broker(system: System):
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, system.topology.events_exchange, routing_key="#")
        user = acme_user_applied(system)
        deadline, seen = time.monotonic() + 15, []
        for method, properties, body in channel.consume(queue, inactivity_timeout=1):
            if method is not None:
                channel.basic_ack(method.delivery_tag)
                envelope = json.loads(body)
                if envelope["user_id"] == user:
                    seen.append((properties.headers["tenant"], envelope["tenant"]))
            if len(seen) == 3 or time.monotonic() > deadline:
                break
        assert seen == [("acme", "acme")] * 3
    finally:
        connection.close()


def test_erasure_forgets_a_user_everywhere_and_a_full_replay_leaves_the_others_unchanged(
    system: System,
):
    erased, kept = acme_user_applied(system), acme_user_applied(system)
    acme = session("acme")
    for document in (workout(kept, day=2), pain(kept, score=1, day=2)):
        more = acme.post(f"{system.traininglog.url}/v1/events", json=document, timeout=5)
    wait_applied(system, kept, more.json()["position"], owner="acme")
    kept_versions = history(system, kept, owner="acme")

    answer = system.http.delete(
        f"{system.traininglog.url}/v1/users/{erased}", params={"owner": "acme"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    marker = answer.json()["position"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not routine(system, erased, owner="acme").get("version"):
            break
        time.sleep(0.2)
    for url in user_endpoints(system, erased, owner="acme"):
        assert system.http.get(url, timeout=10).status_code == 404, url
    feed = system.http.get(
        f"{system.traininglog.url}/v1/feed", params={"after": 0, "limit": 1000}, timeout=10
    ).json()["events"]
    assert [e["position"] for e in feed if e["user_id"] == erased] == [marker]

    started = system.http.post(
        f"{system.planner.url}/v1/admin/rebuild", json={"all": True}, timeout=5
    )
    assert started.status_code == 202
    assert wait_rebuilt(system)["state"] == "done"
    assert history(system, kept, owner="acme") == kept_versions
    erased_routine = f"{system.planner.url}/v1/users/{erased}/routine?owner=acme"
    assert system.http.get(erased_routine).status_code == 404
