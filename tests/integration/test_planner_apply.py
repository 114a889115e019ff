"""Applying events in the planner's own store: once each, a new routine version only on change."""

import json
import threading
import time

import pytest
from sqlalchemy import Engine, func, select

from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import (
    SqlAlchemyPlannerReader,
    SqlAlchemyRoutineOutbox,
    SqlAlchemyUnitOfWork,
)
from planner.adapters.tables import planner_events
from planner.domain import RULES_VERSION
from planner.domain.versions import audit, replay_versions
from planner.service_layer.apply import Applied, apply_event
from tests.factories import baseline, new_user_id, pain
from tests.support.envelopes import stored

pytestmark = pytest.mark.integration


def apply(engine: Engine, envelope: dict) -> Applied:
    return apply_event(lambda: SqlAlchemyUnitOfWork(engine), envelope).outcome


def test_a_baseline_makes_version_one_and_announces_it(engine: Engine):
    user = new_user_id()
    first = stored(baseline(user), stream_version=1, position=10)
    assert apply(engine, first) is Applied.ROUTINE_CHANGED
    reader = SqlAlchemyPlannerReader(engine)
    state, version = reader.current(UserKey("acme", user))  # type: ignore[misc]
    assert (version.version, state.applied_position, version.rules_version) == (
        1,
        10,
        RULES_VERSION,
    )
    assert version.caused_by == [first["event_id"]]
    assert version.routine["status"] == "active"
    announced = [
        json.loads(p.message.body)
        for p in SqlAlchemyRoutineOutbox(engine).pending(100_000)
        if p.message.message_id == f"acme:{user}:routine:1"
    ]
    assert [m["routine"] for m in announced] == [version.routine]


def test_a_redelivered_event_is_applied_once(engine: Engine):
    user = new_user_id()
    envelope = stored(baseline(user), stream_version=1, position=3)
    assert [apply(engine, envelope) for _ in range(3)] == [
        Applied.ROUTINE_CHANGED,
        Applied.DUPLICATE,
        Applied.DUPLICATE,
    ]
    with engine.connect() as connection:
        count = connection.execute(
            select(func.count()).select_from(planner_events).where(planner_events.c.user_id == user)
        ).scalar_one()
    assert count == 1
    assert len(SqlAlchemyPlannerReader(engine).history(UserKey("acme", user))) == 1


def test_every_applied_event_moves_the_applied_position_and_versions_only_follow_changes(
    engine: Engine,
):
    user = new_user_id()
    apply(engine, stored(baseline(user), stream_version=1, position=20))
    outcome = apply(
        engine, stored(pain(user, score=1, timing="rest", day=1), stream_version=2, position=21)
    )
    reader = SqlAlchemyPlannerReader(engine)
    state, version = reader.current(UserKey("acme", user))  # type: ignore[misc]
    assert state.applied_position == 21
    expected_versions = 2 if outcome is Applied.ROUTINE_CHANGED else 1
    assert version.version == expected_versions == len(reader.history(UserKey("acme", user)))


def test_version_1_and_version_2_events_replay_side_by_side(engine: Engine):
    user = new_user_id()
    old = stored(pain(user, score=2, day=1), stream_version=2, position=31)
    new_document = pain(user, score=2, day=2, radiates_to="buttock")
    new_document["schema_version"] = 2
    new = stored(new_document, stream_version=3, position=32)
    for envelope in (stored(baseline(user), stream_version=1, position=30), old, new):
        apply(engine, envelope)
    reader = SqlAlchemyPlannerReader(engine)
    read_back = {
        e.event_id: e.payload["radiates_to"]
        for e in reader.events(UserKey("acme", user))
        if e.type == "pain.reported"
    }
    assert read_back == {old["event_id"]: "unknown", new["event_id"]: "buttock"}
    replayed = replay_versions(reader.events_in_applied_order(UserKey("acme", user)))
    assert audit(reader.history(UserKey("acme", user)), replayed)["reproduced"]


def test_two_feed_readers_moving_one_checkpoint_at_once_both_succeed(engine: Engine):
    name = f"test-{new_user_id()}"[:32]
    first = SqlAlchemyUnitOfWork(engine).__enter__()
    first.store.set_checkpoint(name, 10)
    second_done = threading.Event()

    def second_reader() -> None:
        with SqlAlchemyUnitOfWork(engine) as uow:  # waits for the first to commit
            uow.store.set_checkpoint(name, 20)
            uow.commit()
        second_done.set()

    thread = threading.Thread(target=second_reader)
    thread.start()
    time.sleep(0.3)
    first.commit()
    first.__exit__(None, None, None)
    thread.join(timeout=10)
    assert second_done.is_set()
    assert SqlAlchemyPlannerReader(engine).checkpoint(name) == 20
