"""traininglog's HTTP contract through the Flask app, on the real database."""

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.config import Settings
from traininglog.entrypoints.http import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(engine: Engine) -> FlaskClient:
    app = create_app(
        Settings(max_batch_events=5, max_body_bytes=64 * 1024),
        unit_of_work=lambda: SqlAlchemyUnitOfWork(engine, keys_for(engine)),
        reader=SqlAlchemyEventReader(engine, keys_for(engine)),
        readiness_checks={"database": lambda: True},
        registry=lambda: KEYS.registry,
    )
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = KEYS.header("ops")["Authorization"]
    return client


def stream_of(client: FlaskClient, user_id: str) -> list[dict]:
    """The user's events; none for a user nothing was ever stored for (traininglog: 404)."""
    answer = client.get(f"/v1/users/{user_id}/events")
    if answer.status_code == 404:
        return []
    return answer.get_json()["events"]  # type: ignore[no-any-return]


def test_post_answers_201_then_200_with_the_same_body_then_409(client):
    document = baseline(new_user_id())
    first = client.post("/v1/events", json=document)
    again = client.post("/v1/events", json=document)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert set(first.get_json()) == {"event_id", "user_id", "stream_version", "position"}
    conflict = client.post("/v1/events", json={**document, "payload": {"walk_min": 99}})
    assert conflict.status_code == 409
    assert "event_id" in conflict.get_json()["errors"]
    assert len(stream_of(client, document["user_id"])) == 1


@pytest.mark.parametrize(
    ("mutate", "field_path"),
    [
        (lambda d: d["payload"].update(score=11), ["json", "payload", "score"]),
        (lambda d: d["payload"].update(score="7"), ["json", "payload", "score"]),
        (lambda d: d.update(occurred_at="2026-09-01T08:00:00"), ["json", "occurred_at"]),
        (lambda d: d.update(occurred_at="2999-01-01T00:00:00Z"), ["json", "occurred_at"]),
        (lambda d: d.update(type="sleep.logged"), ["json", "type"]),
        (lambda d: d.update(colour="red"), ["json", "colour"]),
        (lambda d: d.update(event_id="not-a-uuid"), ["json", "event_id"]),
        (lambda d: d["payload"].update(exercise="deadlift"), ["json", "payload", "exercise"]),
    ],
)
def test_bad_input_gets_422_naming_the_field_and_stores_nothing(client, mutate, field_path):
    document = pain(new_user_id(), score=3)
    mutate(document)
    response = client.post("/v1/events", json=document)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    for key in field_path:
        errors = errors[key]
    assert errors and all(isinstance(reason, str) for reason in errors)
    assert stream_of(client, document["user_id"]) == []


def test_malformed_json_gets_400(client):
    response = client.post("/v1/events", data='{"event_id": ', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"]["json"]


def test_a_body_over_the_limit_gets_413(client):
    document = baseline(new_user_id(), contraindications=["x" * 100] * 1000)
    response = client.post("/v1/events", data=json.dumps(document), content_type="application/json")
    assert response.status_code == 413


def test_a_batch_answers_per_item_and_keeps_the_good_ones(client):
    user = new_user_id()
    stored = baseline(user)
    client.post("/v1/events", json=stored)
    bad = pain(user, score=42)
    conflicting = {**stored, "payload": {"walk_min": 1}}
    good = workout(user)
    response = client.post(
        "/v1/events/batch", json={"events": [stored, bad, good, "x", conflicting]}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == [
        "duplicate",
        "rejected",
        "stored",
        "rejected",
        "conflict",
    ]
    assert body["results"][1]["errors"] == {
        "payload": {"score": ["Must be greater than or equal to 0 and less than or equal to 10."]}
    }
    assert body["counts"] == {"stored": 1, "duplicate": 1, "rejected": 2, "conflict": 1}
    assert [e["event_id"] for e in stream_of(client, user)] == [
        stored["event_id"],
        good["event_id"],
    ]


def test_a_batch_over_the_limit_is_refused_whole(client):
    user = new_user_id()
    response = client.post("/v1/events/batch", json={"events": [pain(user, score=1)] * 6})
    assert response.status_code == 413
    assert "events" in response.get_json()["errors"]["json"]
    assert stream_of(client, user) == []


def test_feed_pages_by_position(client):
    user = new_user_id()
    receipts = [client.post("/v1/events", json=pain(user, score=s)).get_json() for s in range(3)]
    page = client.get(f"/v1/feed?after={receipts[0]['position']}&limit=2").get_json()
    assert [e["position"] for e in page["events"]] == [r["position"] for r in receipts[1:]]
    assert page["next_after"] == receipts[2]["position"]
    assert client.get("/v1/feed?limit=0").status_code == 422


def test_openapi_documents_the_contract_from_the_validating_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert {
        "/v1/events",
        "/v1/events/batch",
        "/v1/feed",
        "/v1/users/{user_id}/events",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])
    pain_schema = spec["components"]["schemas"]["PainReportedPayload"]
    assert pain_schema["properties"]["score"]["maximum"] == 10


def test_health_and_metrics(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert b"traininglog_events_total" in client.get("/metrics").data


def test_a_database_that_does_not_answer_gets_503_with_retry_after_not_500(free_tcp_port: int):
    """Nothing listens on the port: every write is told to retry later, as the OpenAPI says."""
    from sqlalchemy import create_engine

    from traininglog.adapters.key_store import SqlAlchemyKeyStore

    down = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_tcp_port}/down")
    app = create_app(
        Settings(),
        unit_of_work=lambda: SqlAlchemyUnitOfWork(down, SqlAlchemyKeyStore(down)),
        reader=SqlAlchemyEventReader(down, SqlAlchemyKeyStore(down)),
        readiness_checks={"database": lambda: False},
        registry=lambda: KEYS.registry,
    )
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = KEYS.header("ops")["Authorization"]
    user = new_user_id()
    for path, body in (
        ("/v1/events", baseline(user)),
        ("/v1/events/batch", {"events": [baseline(user)]}),
    ):
        answer = client.post(path, json=body)
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.get_json()["code"] == 503 and answer.get_json()["message"]
        documented = app.test_client().get("/openapi.json").get_json()
        assert "503" in documented["paths"][path]["post"]["responses"]
    down.dispose()
