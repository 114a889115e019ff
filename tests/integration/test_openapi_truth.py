"""The OpenAPI documents tell the truth: what a document admits, the service takes, and what
the service refuses, the document refuses too (schemathesis' `--checks all` found each of these:
a generator makes such a request, a generated client sends it)."""

import uuid
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.factories import baseline, envelope, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.apps import planner_app, traininglog_app

pytestmark = pytest.mark.integration


def request_body_schema(app: Flask, method: str, path: str) -> jsonschema_rs.Draft4Validator:
    spec = app.test_client().get("/openapi.json").get_json()
    body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    # The body's schema with the document beside it, so that its $refs resolve.
    return jsonschema_rs.Draft4Validator({**spec, "$ref": body["$ref"]})


def admits(app: Flask, method: str, path: str, body: Any) -> bool:
    return bool(request_body_schema(app, method, path).is_valid(body))


@pytest.fixture
def log(sqlite_engine: Engine) -> Flask:
    return traininglog_app(sqlite_engine)


@pytest.fixture
def plan(sqlite_engine: Engine) -> Flask:
    return planner_app(sqlite_engine)


def test_the_event_document_admits_a_valid_event(log: Flask) -> None:
    assert admits(log, "post", "/v1/events", baseline(new_user_id()))


@pytest.mark.parametrize(
    "refused",
    [
        {"source": {"kind": "system", "name": "me"}},
        {"type": "goal.set", "payload": {}},
        {"type": "pain.reported", "payload": {"walk_min": 20}},
        {"type": "user.erased", "payload": {"requested_by": "me"}},
    ],
    ids=["system source", "empty goal", "baseline payload as pain", "system type"],
)
def test_the_event_document_refuses_what_the_service_refuses(
    log: Flask, refused: dict[str, Any]
) -> None:
    event = {**baseline(new_user_id()), **refused}
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code == 422, answer.get_json()
    assert not admits(log, "post", "/v1/events", event)


def test_the_batch_document_refuses_an_empty_batch(log: Flask) -> None:
    answer = log.test_client().post(
        "/v1/events/batch", json={"events": []}, headers={"Authorization": _ops_key()}
    )
    assert answer.status_code == 422
    assert not admits(log, "post", "/v1/events/batch", {"events": []})


@pytest.mark.parametrize("body", [{}, {"user_id": "u1", "all": True}, {"owner": "acme"}])
def test_the_rebuild_document_refuses_what_is_neither_one_user_nor_all(
    plan: Flask, body: dict[str, Any]
) -> None:
    answer = plan.test_client().post(
        "/v1/admin/rebuild", json=body, headers={"Authorization": _ops_key()}
    )
    assert answer.status_code == 422
    assert not admits(plan, "post", "/v1/admin/rebuild", body)
    assert admits(plan, "post", "/v1/admin/rebuild", {"user_id": "u1"})
    assert admits(plan, "post", "/v1/admin/rebuild", {"all": True})


def test_a_body_less_rebuild_is_refused_and_documented_as_needing_one(plan: Flask) -> None:
    answer = plan.test_client().post("/v1/admin/rebuild", headers={"Authorization": _ops_key()})
    assert answer.status_code == 422
    spec = plan.test_client().get("/openapi.json").get_json()
    assert spec["paths"]["/v1/admin/rebuild"]["post"]["requestBody"]["required"] is True


@pytest.mark.parametrize(
    ("make_app", "path", "allowed"),
    [
        (traininglog_app, "/healthz", "GET"),
        (traininglog_app, "/v1/feed", "GET"),
        (traininglog_app, "/v1/events", "POST"),
        (planner_app, "/healthz", "GET"),
        (planner_app, "/v1/admin/rebuild", "POST"),
    ],
)
def test_a_method_a_path_does_not_answer_is_405_with_allow(
    sqlite_engine: Engine, make_app: Any, path: str, allowed: str
) -> None:
    answer = (
        make_app(sqlite_engine)
        .test_client()
        .open(path, method="TRACE", headers={"Authorization": _ops_key()})
    )
    assert answer.status_code == 405
    assert allowed in answer.headers["Allow"].split(", ")


def _ops_key() -> str:
    return KEYS.header("ops")["Authorization"]


def test_the_event_document_refuses_an_exercise_logged_as_another_kind(log: Flask) -> None:
    event = {**workout(new_user_id())}
    event["payload"]["exercises"][0] = {
        "exercise": "cobra",
        "kind": "core",
        "sets": [],
        "completed": False,
    }
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code == 422
    assert not admits(log, "post", "/v1/events", event)
    assert admits(log, "post", "/v1/events", workout(new_user_id()))


def test_a_batch_item_that_is_null_is_answered_as_any_bad_item(log: Flask) -> None:
    answer = log.test_client().post(
        "/v1/events/batch", json={"events": [None]}, headers={"Authorization": _ops_key()}
    )
    assert answer.status_code == 200
    assert answer.get_json()["results"][0]["status"] == "rejected"


@pytest.mark.parametrize(
    ("url", "taken"),
    [
        ("https://app.example/hooks", True),
        ("https://app.example:8443/hooks?x=1", True),
        ("http://127.0.0.1:9000/hooks", True),
        ("http://localhost/hooks", True),
        ("http://app.example/hooks", False),
        ("http://127.999.0.1/hooks", False),
        ("https://user:pw@app.example/hooks", False),
        ("0000", False),
        ("ftp://app.example/", False),
    ],
)
def test_the_webhook_document_takes_the_urls_the_service_takes(
    plan: Flask, url: str, taken: bool
) -> None:
    body = {"url": url, "event_types": ["routine.updated"]}
    answer = plan.test_client().put(
        "/v1/webhooks/endpoints/ep1", json=body, headers={"Authorization": _ops_key()}
    )
    assert (answer.status_code in (200, 201)) is taken, answer.get_json()
    assert admits(plan, "put", "/v1/webhooks/endpoints/{endpoint_id}", body) is taken


def test_the_webhook_paths_do_not_overlap(plan: Flask) -> None:
    answer = plan.test_client().options("/v1/webhooks/dead-letters")
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.parametrize("field", ["completed", "stopped_for_pain"])
def test_a_boolean_is_a_json_boolean_as_the_document_says(log: Flask, field: str) -> None:
    event = workout(new_user_id())
    event["payload"]["exercises"][0][field] = 0
    assert not admits(log, "post", "/v1/events", event)
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code == 422, answer.get_json()


def test_reps_are_a_json_integer_as_the_document_says(log: Flask) -> None:
    event = workout(new_user_id())
    event["payload"]["exercises"][0]["sets"] = [{"reps": 2.5}]
    assert not admits(log, "post", "/v1/events", event)
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code == 422, answer.get_json()


def _workout_with_sets(user_id: str, sets: list[dict[str, Any]]) -> dict[str, Any]:
    event = workout(user_id)
    event["payload"]["exercises"][0] = {
        "exercise": "squat",
        "kind": "strength",
        "sets": sets,
        "completed": True,
    }
    return event


def _goal(user_id: str, metric: str, target: float, period: str) -> dict[str, Any]:
    payload = {"goal_id": "g1", "metric": metric, "target": target, "period": period}
    return envelope("goal.set", payload, user_id=user_id)


def _retraction(user_id: str, **payload: Any) -> dict[str, Any]:
    return envelope("record.retracted", payload, user_id=user_id)


# What the service refuses beyond single fields' types: the document refuses it too (schemathesis'
# positive_data_acceptance found each of these made as valid and answered 422).
REFUSED_EVENTS = {
    "occurred_at before 2000": lambda u: {
        **pain(u, score=2),
        "occurred_at": "1999-12-31T23:59:00Z",
    },
    "2000-01-01 at an offset before it": lambda u: {
        **pain(u, score=2),
        "occurred_at": "2000-01-01T00:30:00+01:00",
    },
    "a 1000 kg load": lambda u: _workout_with_sets(u, [{"reps": 5, "load_kg": 1000}]),
    "an hour-long hold": lambda u: _workout_with_sets(u, [{"hold_s": 3600}]),
    "a set without a measure": lambda u: _workout_with_sets(u, [{}]),
    "a red flag twice": lambda u: pain(u, score=2, red_flags=["fever", "fever"]),
    "a control character in text": lambda u: pain(u, score=2, location="lower\x01back"),
    "a time zone that is none": lambda u: baseline(u, time_zone="Mars/Olympus_Mons"),
    "a goal beyond a body": lambda u: _goal(u, "sessions_per_week", 22, "week"),
    "a retraction of two records": lambda u: _retraction(
        u, event_id=str(uuid.uuid4()), record_id="r1"
    ),
    "a retraction of nothing": lambda u: _retraction(u, reason="?"),
    "a source for an event id": lambda u: _retraction(
        u, event_id=str(uuid.uuid4()), source_name="watch"
    ),
}
TAKEN_EVENTS = {
    "occurred_at on 2000-01-02": lambda u: {
        **pain(u, score=2),
        "occurred_at": "2000-01-02T00:00:00Z",
    },
    "a 500 kg load": lambda u: _workout_with_sets(u, [{"reps": 1, "load_kg": 500}]),
    "each red flag once": lambda u: pain(u, score=2, red_flags=["fever", "major_trauma"]),
    "a time zone": lambda u: baseline(u, time_zone="Europe/Madrid"),
    "a monthly goal": lambda u: _goal(u, "sessions_per_week", 100, "month"),
    "a retraction of an event": lambda u: _retraction(u, event_id=str(uuid.uuid4())),
    "a retraction of a record": lambda u: _retraction(u, record_id="r1", source_name="watch"),
}


@pytest.mark.parametrize("name", sorted(REFUSED_EVENTS))
def test_the_event_document_refuses_the_events_the_service_refuses(log: Flask, name: str) -> None:
    event = REFUSED_EVENTS[name](new_user_id())
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code == 422, answer.get_json()
    assert not admits(log, "post", "/v1/events", event)


@pytest.mark.parametrize("name", sorted(TAKEN_EVENTS))
def test_the_event_document_admits_the_events_the_service_takes(log: Flask, name: str) -> None:
    event = TAKEN_EVENTS[name](new_user_id())
    assert admits(log, "post", "/v1/events", event)
    answer = log.test_client().post("/v1/events", json=event, headers={"Authorization": _ops_key()})
    assert answer.status_code in (201, 404), answer.get_json()  # 404: a retracted id unknown


def test_a_health_connect_item_that_is_null_is_answered_on_its_own(log: Flask) -> None:
    body = {"user_id": new_user_id(), "records": [None], "deletions": [None]}
    answer = log.test_client().post(
        "/v1/imports/health-connect", json=body, headers={"Authorization": _ops_key()}
    )
    assert answer.status_code == 200, answer.get_json()
    assert [r["status"] for r in answer.get_json()["results"]] == ["rejected", "rejected"]
    assert admits(log, "post", "/v1/imports/health-connect", body)


def test_the_fit_import_documents_its_body(log: Flask) -> None:
    spec = log.test_client().get("/openapi.json").get_json()
    body = spec["paths"]["/v1/imports/fit"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }


@pytest.mark.parametrize("make_app", [traininglog_app, planner_app])
def test_a_body_that_is_not_utf8_is_not_json_rather_than_no_body(
    sqlite_engine: Engine, make_app: Any
) -> None:
    """webargs reads a decode error of empty text as no body at all: a page link was issued for a
    body of bytes that are no UTF-8 (schemathesis' negative_data_rejection found it)."""
    client = make_app(sqlite_engine).test_client()
    headers = {"Authorization": _ops_key(), "Content-Type": "application/json"}
    for path in ("/v1/events", "/v1/users/u1/page-links", "/v1/admin/rebuild"):
        answer = client.post(path, data=b"\xff\xfe", headers=headers)
        if answer.status_code != 404:  # each service answers the paths it has
            assert answer.status_code == 400, (path, answer.get_json())
            assert answer.get_json()["errors"] == {"json": ["Invalid JSON body."]}
