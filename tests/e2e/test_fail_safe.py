"""Fail safe, per user, through both services as processes (DESIGN.md, "Trust boundaries"):
no instant before 2000 gets in; an event stored before that door existed pauses its user's
routine naming it, is counted in /readyz and /metrics, holds up none of the user's later events
(a later red flag still pauses with R6), and reaches no other user; rebuilds fail safe too."""

import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest
import requests

from backtrack_shared.contracts import EnvelopeSchema
from backtrack_shared.db import create_database_engine
from tests.e2e.client import metric, routine, wait_applied
from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.processes import start, stop, wait_ready
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.domain.append import Writer
from traininglog.service_layer.ingest import record_events

pytestmark = pytest.mark.e2e

R6_EMERGENCY = "Red-flag symptoms (saddle numbness): stop exercising and seek medical care now."


def post(system: System, document: dict[str, Any]) -> requests.Response:
    return system.http.post(f"{system.traininglog.url}/v1/events", json=document, timeout=10)


def post_stored(system: System, document: dict[str, Any]) -> int:
    answer = post(system, document)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["position"])


def stored_before_the_fix(system: System, document: dict[str, Any]) -> int:
    """Append an event the way traininglog's door took it before it refused instants before
    2000: through traininglog's own service layer, into its store and outbox (its relay then
    publishes it as any other)."""
    engine = create_database_engine(system.database_url)
    keys = SqlAlchemyKeyStore(
        create_database_engine(system.environ["TRAININGLOG_KEYS_DATABASE_URL"])
    )
    try:
        envelope = EnvelopeSchema().load(document)  # the envelope's checks, not the door's
        (receipt,) = record_events(
            lambda: SqlAlchemyUnitOfWork(engine, keys), [envelope], Writer("ops", every_user=True)
        )
    finally:
        engine.dispose()
        keys.engine.dispose()
    assert receipt.position is not None
    return receipt.position


def planner_get(system: System, path: str) -> requests.Response:
    return system.http.get(f"{system.planner.url}{path}", timeout=30)


def wait_for(predicate: Any, what: str, system: System, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen:\n{system.planner.logs()}")


def dead_letters(system: System) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        declared = connection.channel().queue_declare(
            system.topology.dead_letter_queue, passive=True
        )
        return int(declared.method.message_count)
    finally:
        connection.close()


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+00:00", "1900-01-01T00:00:00+00:00"])
def test_an_instant_before_2000_is_refused_at_the_door(system: System, instant: str) -> None:
    user = new_user_id()
    document = pain(user, score=3)
    document["occurred_at"] = instant
    single = post(system, document)
    assert single.status_code == 422
    assert list(single.json()["errors"]["json"]) == ["occurred_at"]
    batch = system.http.post(
        f"{system.traininglog.url}/v1/events/batch", json={"events": [document]}, timeout=10
    ).json()
    assert batch["results"][0]["status"] == "rejected"
    assert list(batch["results"][0]["errors"]) == ["occurred_at"]
    stream = system.http.get(f"{system.traininglog.url}/v1/users/{user}/events", timeout=10)
    assert stream.status_code == 404  # nothing stored


@pytest.fixture(scope="module")
def frozen_user(system: System) -> Iterator[dict[str, Any]]:
    """A user with a baseline, then a year-1 pain report stored before the fix, then a workout."""
    user, bystander = new_user_id(), new_user_id()
    post_stored(system, baseline(user))
    post_stored(system, baseline(bystander))
    bad = pain(user, score=3)
    bad["occurred_at"] = "0001-01-01T00:00:00+00:00"
    stored_before_the_fix(system, bad)
    later = post_stored(system, workout(user, day=1))
    yield {"user": user, "bystander": bystander, "bad": bad["event_id"], "later": later}


def test_an_event_the_planner_cannot_apply_pauses_its_user_naming_it(
    system: System, frozen_user: dict[str, Any]
) -> None:
    user = frozen_user["user"]
    current = wait_applied(system, user, frozen_user["later"])  # later events are not held up
    assert current["status"] == "paused"
    assert frozen_user["bad"] in current["pause_reason"]
    assert [u["event_id"] for u in current["unapplied_events"]] == [frozen_user["bad"]]
    assert routine(system, frozen_user["bystander"])["status"] == "active"
    assert dead_letters(system) == 0

    ready = requests.get(f"{system.planner.url}/readyz", timeout=10)
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["checks"]["unapplied_events"] == "degraded"
    assert body["details"]["users_with_unapplied_events"] >= 1
    assert metric(system.planner.url, "planner_users_with_unapplied_events") >= 1
    assert metric(system.planner.url, "planner_events_total", outcome="set_aside") >= 1


def test_a_later_red_flag_still_pauses_with_the_r6_referral(
    system: System, frozen_user: dict[str, Any]
) -> None:
    user = frozen_user["user"]
    before = wait_applied(system, user, frozen_user["later"])["version"]
    position = post_stored(system, pain(user, score=7, day=2, red_flags=["saddle_numbness"]))
    current = wait_applied(system, user, position)
    assert current["version"] > before
    assert current["status"] == "paused"
    assert current["pause_reason"] == R6_EMERGENCY
    assert dead_letters(system) == 0


def test_the_user_reads_and_rebuilds_without_a_500(
    system: System, frozen_user: dict[str, Any]
) -> None:
    user = frozen_user["user"]
    for path in ("routine", "routine/history", "progress", "audit"):
        answer = planner_get(system, f"/v1/users/{user}/{path}")
        assert answer.status_code == 200, (path, answer.text)
    assert planner_get(system, f"/v1/users/{user}/audit").json()["reproduced"]
    as_of = planner_get(system, f"/v1/users/{user}/routine?as_of=2026-09-03T00:00:00Z").json()
    assert as_of["status"] == "paused"  # the view as of an instant fails safe as well
    history = planner_get(system, f"/v1/users/{user}/routine/history").json()["versions"]

    rebuilt = system.http.post(
        f"{system.planner.url}/v1/admin/rebuild", json={"user_id": user}, timeout=60
    )
    assert rebuilt.status_code == 200, rebuilt.text
    assert planner_get(system, f"/v1/users/{user}/routine/history").json()["versions"] == history
    assert routine(system, user)["status"] == "paused"
    progress = planner_get(system, f"/v1/users/{user}/progress").json()
    assert len(progress["weeks"]) < 10  # the year-1 event is not folded into 2,000 years of weeks


def test_a_body_less_rebuild_rebuilds_nobody(system: System) -> None:
    for body in ({}, None):
        answer = system.http.post(f"{system.planner.url}/v1/admin/rebuild", json=body, timeout=10)
        assert answer.status_code == 422, answer.text
        assert "user_id" in answer.json()["errors"]["json"]
    status = planner_get(system, "/v1/admin/rebuild").json()
    assert status["state"] != "running"


def test_a_one_user_rebuild_without_traininglog_keeps_the_projections(
    system: System, frozen_user: dict[str, Any]
) -> None:
    user = frozen_user["user"]
    before = planner_get(system, f"/v1/users/{user}/routine/history").json()
    stop(system.traininglog)
    try:
        answer = system.http.post(
            f"{system.planner.url}/v1/admin/rebuild", json={"user_id": user}, timeout=60
        )
        assert answer.status_code == 502, answer.text
        assert "previous projections are kept" in answer.json()["message"]
        assert planner_get(system, f"/v1/users/{user}/routine/history").json() == before
    finally:
        port = int(system.traininglog.url.rsplit(":", 1)[1])
        system.traininglog = start("traininglog", system.environ, port, system.log_dir)
        wait_ready(system.traininglog)


def test_a_full_rebuild_goes_through_a_user_it_cannot_fold(
    system: System, frozen_user: dict[str, Any]
) -> None:
    user = frozen_user["user"]
    before = planner_get(system, f"/v1/users/{user}/routine/history").json()
    started = system.http.post(
        f"{system.planner.url}/v1/admin/rebuild", json={"all": True}, timeout=10
    )
    assert started.status_code == 202, started.text
    status = wait_for(
        lambda: (s := planner_get(system, "/v1/admin/rebuild").json())["state"] != "running" and s,
        "the full rebuild",
        system,
    )
    assert status["state"] == "done", status
    assert planner_get(system, f"/v1/users/{user}/routine/history").json() == before
    assert routine(system, frozen_user["bystander"])["status"] == "active"
