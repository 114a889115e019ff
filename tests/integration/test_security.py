"""Who may write and read, tenant isolation, erasure and rate limits, through both services'
Flask apps on the real databases (SQLite and PostgreSQL)."""

import json

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from backtrack_shared.contracts.registry import USER_ERASED
from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import (
    SqlAlchemyPlannerReader,
    SqlAlchemyRoutineOutbox,
)
from planner.adapters.projection_store import SqlAlchemyUnitOfWork as PlannerUnitOfWork
from planner.service_layer.apply import Applied, apply_event
from tests.factories import baseline, new_user_id, pain
from tests.support.apps import apply_all, as_client, feed_after, head, traininglog_app
from tests.support.stores import keys_for
from traininglog.adapters.sealing import Unreadable, is_sealed, unseal
from traininglog.adapters.tables import events, users
from traininglog.config import Settings

pytestmark = pytest.mark.integration

OPERATIONAL = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/asyncapi.json", "/docs"}
# The docs page's script and styles (open, as the page is).
OPEN = {*OPERATIONAL, "/docs/assets/<string:name>"}


def guarded_routes(app: Flask, user_id: str) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in OPEN:
            continue
        url = (
            rule.rule.replace("<user_id:user_id>", user_id)
            .replace("<string:endpoint_id>", "my-app")
            .replace("<uuid:delivery_id>", "6f1c9a52-3d0e-4d8b-9a52-0c1f2e3d4a01")
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_every_endpoint_but_the_operational_ones_wants_a_live_key(log, plan, acme_user):
    for app in (log, plan):
        routes = guarded_routes(app, acme_user)
        assert len(routes) >= 4
        for method, url in routes:
            for headers in ({}, {"Authorization": "Bearer bt_nokeyatall_" + "x" * 43}):
                answer = app.test_client().open(url, method=method, json={}, headers=headers)
                assert answer.status_code == 401, (method, url, answer.get_json())
                assert answer.get_json()["message"]
        for path in OPERATIONAL:
            assert app.test_client().get(path).status_code in (200, 503), path


def test_a_key_without_the_scope_gets_403(log, plan, acme_user):
    reader = as_client(log, "reader")  # routine:read only
    assert reader.post("/v1/events", json=baseline(new_user_id())).status_code == 403
    assert reader.post("/v1/events/batch", json={"events": []}).status_code == 403
    assert reader.get(f"/v1/users/{acme_user}/events").status_code == 403
    assert reader.get("/v1/feed").status_code == 403
    assert reader.delete(f"/v1/users/{acme_user}").status_code == 403
    planner_reader = as_client(plan, "reader")
    assert planner_reader.get(f"/v1/users/{acme_user}/routine/history").status_code == 403
    assert planner_reader.get(f"/v1/users/{acme_user}/audit").status_code == 403
    assert planner_reader.post("/v1/admin/rebuild", json={}).status_code == 403
    acme = as_client(log, "acme")
    assert acme.delete(f"/v1/users/{acme_user}").status_code == 403  # erasure is an operator's
    assert acme.get("/v1/feed").status_code == 403  # the feed spans every tenant


def test_another_tenants_user_is_404_on_every_user_endpoint_of_both_services(log, plan, acme_user):
    nobody = new_user_id()
    reads = [
        (log, "/v1/users/{}/events"),
        (plan, "/v1/users/{}/routine"),
        (plan, "/v1/users/{}/routine?as_of=2026-09-10T00:00:00Z"),
        (plan, "/v1/users/{}/progress"),
        (plan, "/v1/users/{}/routine/history"),
        (plan, "/v1/users/{}/audit"),
    ]
    for app, path in reads:
        assert as_client(app, "acme").get(path.format(acme_user)).status_code == 200, path
        for owner in ("", "?owner=acme"):  # globex's own user of that id, and acme's
            joiner = "&" if "?" in path else "?"
            named = f"{path.format(acme_user)}{owner.replace('?', joiner)}"
            theirs = as_client(app, "globex").get(named)
            unknown = as_client(app, "globex").get(named.replace(acme_user, nobody))
            assert theirs.status_code == 404, path
            assert theirs.get_json()["message"] == unknown.get_json()["message"]  # nothing told
            assert acme_user not in theirs.get_data(as_text=True)

    globex = as_client(log, "globex")
    assert globex.post("/v1/events?owner=acme", json=pain(acme_user, score=9)).status_code == 404
    batch = globex.post("/v1/events/batch?owner=acme", json={"events": [pain(acme_user, score=9)]})
    (item,) = batch.get_json()["results"]
    assert (item["status"], item["position"]) == ("rejected", None)
    assert list(item["errors"]) == ["user_id"]
    stream = as_client(log, "acme").get(f"/v1/users/{acme_user}/events").get_json()["events"]
    assert len(stream) == 2  # nothing of globex's was stored
    assert {event["tenant"] for event in stream} == {"acme"}


def test_erasure_makes_the_user_unreadable_everywhere_and_leaves_the_others_be(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
):
    other, start = new_user_id(), head(log)
    acme = as_client(log, "acme")
    for document in (baseline(other), pain(other, score=2)):
        assert acme.post("/v1/events", json=document).status_code == 201
    apply_all(engine, feed_after(log, start))
    # Her events as the planner got them: redelivered after her erasure, they must not count.
    late = (
        as_client(log, "ops").get(f"/v1/users/{acme_user}/events?owner=acme").get_json()["events"]
    )
    others_before = as_client(plan, "acme").get(f"/v1/users/{other}/routine/history").get_json()
    before_erasure = head(log)
    with engine.connect() as connection:
        key_id = connection.execute(
            select(users.c.key_id).where(users.c.user_id == acme_user)
        ).scalar_one()
    assert keys_for(engine).get([key_id])  # her key, in the key store until the erasure

    ops = as_client(log, "ops")
    erased = ops.delete(f"/v1/users/{acme_user}?owner=acme")
    assert erased.status_code == 200 and erased.get_json()["stream_version"] == 3
    assert ops.delete(f"/v1/users/{acme_user}?owner=acme").get_json() == erased.get_json()

    with engine.connect() as connection:  # the store: sealed bodies, and no key to open them
        rows = connection.execute(
            select(events.c.event_id, events.c.type, events.c.body).where(
                events.c.user_id == acme_user
            )
        ).all()
        left = connection.execute(
            select(users.c.key_id).where(users.c.user_id == acme_user)
        ).scalar_one()
    key = keys_for(engine).get([key_id]).get(key_id)
    assert key is None and left is None and len(rows) == 3
    for event_id, event_type, body in rows:
        if event_type == USER_ERASED:
            assert json.loads(body)["payload"] == {"requested_by": "ops"}
            continue
        assert is_sealed(body)
        with pytest.raises(Unreadable):
            unseal(key, event_id, body)

    since_her_first = feed_after(log, late[0]["position"] - 1)
    assert since_her_first  # her events were there, and other users' after them
    assert not [
        e for e in since_her_first if e["user_id"] == acme_user and e["type"] != USER_ERASED
    ]
    (marker,) = feed_after(log, before_erasure)  # the feed: of her, only the marker
    assert (marker["type"], marker["user_id"]) == (USER_ERASED, acme_user)
    assert ops.get(f"/v1/users/{acme_user}/events?owner=acme").status_code == 404
    assert acme.post("/v1/events", json=pain(acme_user, score=1)).status_code == 410

    assert apply_all(engine, [marker]) == [Applied.ERASED]
    for path in ("routine", "routine/history", "progress", "audit"):
        erased_path = f"/v1/users/{acme_user}/{path}?owner=acme"
        assert as_client(plan, "ops").get(erased_path).status_code == 404
    outcomes = [apply_event(lambda: PlannerUnitOfWork(engine), e).outcome for e in late]
    assert outcomes == [Applied.DROPPED] * len(late)  # redelivered late: never applied again
    reader = SqlAlchemyPlannerReader(engine)
    her = UserKey("acme", acme_user)
    assert reader.current(her) is None and reader.events(her) == []
    pending = SqlAlchemyRoutineOutbox(engine).pending(100_000)
    assert not [p for p in pending if p.message.headers.get("user_id") == acme_user]

    others_after = as_client(plan, "acme").get(f"/v1/users/{other}/routine/history").get_json()
    assert others_after == others_before
    assert as_client(plan, "acme").get(f"/v1/users/{other}/audit").get_json()["reproduced"]


def test_writes_over_the_clients_limit_get_429_with_retry_after_and_store_nothing(
    engine: Engine,
):
    log = traininglog_app(
        engine, Settings(rate_limit_events_per_s=0.5, rate_limit_burst=5, max_batch_events=5)
    )
    acme, user = as_client(log, "acme"), new_user_id()
    documents = [pain(user, score=1, day=day) for day in range(7)]
    assert acme.post("/v1/events/batch", json={"events": documents[:5]}).status_code == 200
    for refused in (
        acme.post("/v1/events", json=documents[5]),
        acme.post("/v1/events/batch", json={"events": documents[5:7]}),
    ):
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.get_json()["message"]
    assert len(acme.get(f"/v1/users/{user}/events").get_json()["events"]) == 5
    globex = as_client(log, "globex")  # every client has a limit of its own
    assert globex.post("/v1/events", json=baseline(new_user_id())).status_code == 201


def test_an_operators_grant_lets_another_client_in_on_both_services_until_revoked(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
):
    ops, start = as_client(log, "ops"), head(log)
    routine_before = as_client(plan, "acme").get(f"/v1/users/{acme_user}/routine").get_json()
    grant = f"/v1/users/{acme_user}/grants/globex?owner=acme"
    granted = ops.put(grant).get_json()
    assert granted["granted"] and granted["event_id"]
    assert ops.put(grant).get_json()["event_id"] is None  # it already was so: nothing appended
    no_client = f"/v1/users/{acme_user}/grants/nobody?owner=acme"
    assert ops.put(no_client).status_code == 404  # no such client
    assert as_client(log, "acme").put(grant).status_code == 403  # an operator's decision

    (grant_event,) = feed_after(log, start)
    assert (grant_event["type"], grant_event["payload"]["client_id"]) == (
        "access.granted",
        "globex",
    )
    assert apply_all(engine, [grant_event]) == [Applied.ACCESS_CHANGED]
    reads = [  # the granted client names the owner: without, a user id is its own
        (log, f"/v1/users/{acme_user}/events?owner=acme"),
        (plan, f"/v1/users/{acme_user}/routine?owner=acme"),
        (plan, f"/v1/users/{acme_user}/routine/history?owner=acme"),
    ]
    for app, path in reads:
        assert as_client(app, "globex").get(path).status_code == 200, path
        assert as_client(app, "reader").get(path).status_code in (403, 404), path  # not granted
    routine_after = (
        as_client(plan, "globex").get(f"/v1/users/{acme_user}/routine?owner=acme").get_json()
    )
    assert routine_after.pop("applied_position") == grant_event["position"]
    routine_before.pop("applied_position")
    assert routine_after == routine_before  # the rules never see a grant
    assert as_client(plan, "acme").get(f"/v1/users/{acme_user}/audit").get_json()["reproduced"]

    revoked = ops.delete(grant).get_json()
    assert not revoked["granted"] and revoked["event_id"]
    (revoke_event,) = feed_after(log, grant_event["position"])
    assert apply_all(engine, [revoke_event, grant_event]) == [
        Applied.ACCESS_CHANGED,
        Applied.DUPLICATE,  # redelivered late: it changes nothing
    ]
    for app, path in reads:
        assert as_client(app, "globex").get(path).status_code == 404, path


def test_a_late_grant_never_undoes_a_newer_revocation_in_the_planner(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
):
    ops, start = as_client(log, "ops"), head(log)
    ops.put(f"/v1/users/{acme_user}/grants/globex?owner=acme")
    ops.delete(f"/v1/users/{acme_user}/grants/globex?owner=acme")
    grant_event, revoke_event = feed_after(log, start)
    assert apply_all(engine, [revoke_event, grant_event]) == [Applied.ACCESS_CHANGED] * 2
    routine = as_client(plan, "globex").get(f"/v1/users/{acme_user}/routine?owner=acme")
    assert routine.status_code == 404
