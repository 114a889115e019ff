"""Ids belong to their client (DESIGN.md, "Trust boundaries"): a user id and an event id are
scoped by the owning client, on both services; granted clients and operators name the owner
(`?owner=`); no answer reveals another client's ids or positions."""

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.factories import baseline, new_user_id, pain, workout
from tests.support.apps import (
    apply_all,
    as_client,
    feed_after,
    head,
    planner_app,
    traininglog_app,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def log(engine: Engine) -> Flask:
    return traininglog_app(engine)


@pytest.fixture
def plan(engine: Engine) -> Flask:
    return planner_app(engine)


def test_two_clients_each_have_their_own_user_of_one_id_on_both_services(
    engine: Engine, log: Flask, plan: Flask
):
    user, start = new_user_id(), head(log)
    globex, acme = as_client(log, "globex"), as_client(log, "acme")
    globex_baseline = baseline(user, plank_s=60)
    assert globex.post("/v1/events", json=globex_baseline).status_code == 201  # B first
    stored = acme.post("/v1/events", json=baseline(user, plank_s=10))
    assert stored.status_code == 201, stored.get_json()  # no squat
    assert stored.get_json()["stream_version"] == 1
    batch = acme.post("/v1/events/batch", json={"events": [workout(user), pain(user, score=2)]})
    assert [r["stream_version"] for r in batch.get_json()["results"]] == [2, 3]
    assert globex.post("/v1/events", json=pain(user, score=4)).get_json()["stream_version"] == 2

    acme_stream = acme.get(f"/v1/users/{user}/events").get_json()["events"]
    globex_stream = globex.get(f"/v1/users/{user}/events").get_json()["events"]
    assert [e["stream_version"] for e in acme_stream] == [1, 2, 3]
    assert [e["stream_version"] for e in globex_stream] == [1, 2]
    assert {e["tenant"] for e in acme_stream} == {"acme"}
    assert {e["tenant"] for e in globex_stream} == {"globex"}
    assert globex_stream[0]["event_id"] == globex_baseline["event_id"]

    feed = [e for e in feed_after(log, start) if e["user_id"] == user]
    assert [e["tenant"] for e in feed] == ["globex", "acme", "acme", "acme", "globex"]  # owners
    assert apply_all(engine, feed_after(log, start))
    for client, stream in (("acme", acme_stream), ("globex", globex_stream)):
        reader = as_client(plan, client)
        routine = reader.get(f"/v1/users/{user}/routine").get_json()
        assert routine["user_id"] == user
        assert routine["applied_position"] == stream[-1]["position"]
        versions = reader.get(f"/v1/users/{user}/routine/history").get_json()["versions"]
        own = {e["event_id"] for e in stream}
        assert versions and all(set(v["caused_by"]) <= own for v in versions)
        assert reader.get(f"/v1/users/{user}/audit").get_json()["reproduced"]
        progress = reader.get(f"/v1/users/{user}/progress").get_json()
        assert progress["user_id"] == user
    plank = {
        client: as_client(plan, client).get(f"/v1/users/{user}/routine").get_json()
        for client in ("acme", "globex")
    }
    assert plank["acme"] != plank["globex"]  # each from its own baseline


def test_an_event_id_is_the_clients_own_and_a_conflict_tells_nothing_of_another(
    engine: Engine, log: Flask, plan: Flask
):
    acme_user, globex_user, start = new_user_id(), new_user_id(), head(log)
    acme, globex = as_client(log, "acme"), as_client(log, "globex")
    taken = baseline(acme_user)
    first = acme.post("/v1/events", json=taken).get_json()
    reused = baseline(globex_user) | {"event_id": taken["event_id"]}
    answer = globex.post("/v1/events", json=reused)
    assert answer.status_code == 201, answer.get_json()  # its own event, not A's conflict
    assert answer.get_json()["user_id"] == globex_user
    again = pain(globex_user, score=1) | {"event_id": taken["event_id"]}
    (item,) = globex.post("/v1/events/batch", json={"events": [again]}).get_json()["results"]
    assert item["status"] == "conflict"  # with globex's own event of that id
    assert first["position"] not in (item["position"], answer.get_json()["position"])
    same_body = as_client(log, "clinic").post("/v1/events", json=taken)
    assert same_body.status_code == 201  # acme's very body: a new event of clinic's own user
    assert same_body.get_json()["position"] != first["position"]

    # Two events of one id, one per client: the planner applies both.
    applied = apply_all(engine, feed_after(log, start))
    assert applied.count(applied[0]) >= 1 and "duplicate" not in [a.value for a in applied]
    for client, user in (("acme", acme_user), ("globex", globex_user)):
        routine = as_client(plan, client).get(f"/v1/users/{user}/routine")
        assert routine.status_code == 200, client


def test_a_conflict_in_a_granted_users_stream_shows_no_position_of_the_owners_other_users(
    engine: Engine, log: Flask
):
    hidden, shared = new_user_id(), new_user_id()
    acme, ops = as_client(log, "acme"), as_client(log, "ops")
    secret = baseline(hidden)
    acme.post("/v1/events", json=secret)
    acme.post("/v1/events", json=baseline(shared))
    assert ops.put(f"/v1/users/{shared}/grants/globex?owner=acme").status_code == 200
    globex = as_client(log, "globex")
    clash = pain(shared, score=1) | {"event_id": secret["event_id"]}
    refused = globex.post("/v1/events?owner=acme", json=clash)
    assert refused.status_code == 409
    (item,) = globex.post("/v1/events/batch?owner=acme", json={"events": [clash]}).get_json()[
        "results"
    ]
    assert item["status"] == "conflict"
    assert (item["stream_version"], item["position"]) == (None, None)
    assert hidden not in str(item)


def test_a_granted_client_and_an_operator_name_the_owner(engine: Engine, log: Flask, plan: Flask):
    user, start = new_user_id(), head(log)
    acme, globex, ops = as_client(log, "acme"), as_client(log, "globex"), as_client(log, "ops")
    acme.post("/v1/events", json=baseline(user))
    assert ops.put(f"/v1/users/{user}/grants/globex").status_code == 404  # ops's own: nobody
    assert ops.put(f"/v1/users/{user}/grants/globex?owner=acme").get_json()["granted"]
    # Granted: globex reads and writes acme's user by naming the owner...
    assert globex.get(f"/v1/users/{user}/events?owner=acme").status_code == 200
    written = globex.post("/v1/events?owner=acme", json=pain(user, score=2))
    assert written.status_code == 201 and written.get_json()["stream_version"] == 3
    # ...and without it, globex's own user of that id is another user (nobody yet).
    assert globex.get(f"/v1/users/{user}/events").status_code == 404
    not_granted = as_client(log, "clinic").get(f"/v1/users/{user}/events?owner=acme")
    unknown = as_client(log, "clinic").get(f"/v1/users/{new_user_id()}/events?owner=acme")
    assert not_granted.status_code == unknown.status_code == 404
    assert not_granted.get_json() == unknown.get_json()
    assert globex.post("/v1/events?owner=acme", json=baseline(new_user_id())).status_code == 404

    apply_all(engine, feed_after(log, start))
    for path in ("routine", "routine/history", "progress", "audit"):
        granted = as_client(plan, "globex").get(f"/v1/users/{user}/{path}?owner=acme")
        assert granted.status_code == 200, path
        assert as_client(plan, "globex").get(f"/v1/users/{user}/{path}").status_code == 404
        assert as_client(plan, "ops").get(f"/v1/users/{user}/{path}?owner=acme").status_code == 200
    stream = ops.get(f"/v1/users/{user}/events?owner=acme").get_json()["events"]
    assert [e["tenant"] for e in stream] == ["acme"] * 3
    erased = ops.delete(f"/v1/users/{user}?owner=acme")
    assert erased.status_code == 200
    assert acme.post("/v1/events", json=pain(user, score=1)).status_code == 410
    assert globex.post("/v1/events", json=baseline(user)).status_code == 201  # its own
