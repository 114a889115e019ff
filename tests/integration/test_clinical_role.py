"""Clinicians are a role (DESIGN.md, "Trust boundaries"): only a key with the scope
clinical:write may send a clearance or an event from a clinician; the others get 403 naming the
scope, and nothing of theirs is stored."""

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.factories import baseline, envelope, new_user_id, pain
from tests.support.apps import (
    apply_all,
    as_client,
    feed_after,
    head,
    planner_app,
    traininglog_app,
)

pytestmark = pytest.mark.integration

SCOPE = "clinical:write"


@pytest.fixture
def log(engine: Engine) -> Flask:
    return traininglog_app(engine)


@pytest.fixture
def plan(engine: Engine) -> Flask:
    return planner_app(engine)


def clearance(user_id: str, *, kind: str = "app", day: int = 3) -> dict:
    document = envelope(
        "clearance.recorded",
        {"clinician": "anyone at all", "scopes": ["high_impact", "running", "core"]},
        user_id=user_id,
        source={"kind": kind, "name": "some-app"},
    )
    document["occurred_at"] = f"2026-09-0{1 + day}T09:00:00+00:00"
    return document


def paused_user(engine: Engine, log: Flask, client: str) -> str:
    """A user of `client`'s whose routine a saddle-numbness report paused."""
    user, start = new_user_id(), head(log)
    writer = as_client(log, client)
    for document in (baseline(user), pain(user, score=3, day=1, red_flags=["saddle_numbness"])):
        assert writer.post("/v1/events", json=document).status_code == 201
    apply_all(engine, feed_after(log, start))
    return user


def test_an_app_without_the_clinical_scope_cannot_lift_an_emergency_pause(
    engine: Engine, log: Flask, plan: Flask
):
    user = paused_user(engine, log, "acme")
    assert as_client(plan, "acme").get(f"/v1/users/{user}/routine").get_json()["status"] == (
        "paused"
    )
    start, acme = head(log), as_client(log, "acme")

    refused = acme.post("/v1/events", json=clearance(user))
    assert refused.status_code == 403
    assert SCOPE in refused.get_json()["message"]
    assert list(refused.get_json()["errors"]) == ["type"]
    as_clinician = pain(user, score=0, day=2)
    as_clinician["source"] = {"kind": "clinician", "name": "anyone at all"}
    refused = acme.post("/v1/events", json=as_clinician)
    assert refused.status_code == 403
    assert SCOPE in refused.get_json()["message"]
    assert refused.get_json()["errors"] == {"source": {"kind": [refused.get_json()["message"]]}}

    assert head(log) == start  # nothing stored
    apply_all(engine, feed_after(log, start))
    routine = as_client(plan, "acme").get(f"/v1/users/{user}/routine").get_json()
    assert routine["status"] == "paused"


def test_in_a_batch_the_clinical_items_are_rejected_naming_the_scope_and_the_others_stored(
    log: Flask,
):
    user = new_user_id()
    as_clinician = pain(user, score=1, day=2)
    as_clinician["source"] = {"kind": "clinician", "name": "Dr Lee"}
    documents = [baseline(user), clearance(user), as_clinician, pain(user, score=2, day=2)]
    answer = as_client(log, "acme").post("/v1/events/batch", json={"events": documents})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["status"] for r in results] == ["stored", "rejected", "rejected", "stored"]
    assert SCOPE in results[1]["errors"]["type"][0]
    assert SCOPE in results[2]["errors"]["source"]["kind"][0]
    assert "position" not in results[1] and "position" not in results[2]
    stream = as_client(log, "acme").get(f"/v1/users/{user}/events").get_json()["events"]
    assert [e["type"] for e in stream] == ["baseline.assessed", "pain.reported"]
    assert [e["stream_version"] for e in stream] == [1, 2]


def test_a_key_with_the_clinical_scope_records_a_clinicians_clearance(engine: Engine, log: Flask):
    user = paused_user(engine, log, "clinic")
    clinic = as_client(log, "clinic")
    assert clinic.post("/v1/events", json=clearance(user, kind="clinician")).status_code == 201
    assert clinic.post("/v1/events", json=clearance(user, day=4)).status_code == 201
    stream = clinic.get(f"/v1/users/{user}/events").get_json()["events"]
    assert [e["type"] for e in stream][-2:] == ["clearance.recorded"] * 2


def test_the_openapi_document_names_the_clinical_scope_on_the_writes(log: Flask):
    paths = log.test_client().get("/openapi.json").get_json()["paths"]
    for path in ("/v1/events", "/v1/events/batch"):
        post = paths[path]["post"]
        text = post["responses"]["403"]["description"] if path == "/v1/events" else str(post)
        assert SCOPE in text, path
