"""Fail safe, per user (DESIGN.md, "Trust boundaries"): an event the rules cannot fold (one stored
before the door refused instants before 2000) pauses its user's routine naming it, never leaves
the routine as it was, never holds up the user's later events, and never reaches other users;
a one-user rebuild is all or nothing; a full rebuild skips and reports instead of aborting."""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyPlannerReader, SqlAlchemyUnitOfWork
from planner.domain.versions import audit, replay_versions
from planner.service_layer.apply import Applied, apply_event, apply_events
from planner.service_layer.catch_up import RebuildFailed, rebuild, rebuild_user
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.envelopes import ListFeed, stored

pytestmark = pytest.mark.integration

YEAR_ONE = "0001-01-01T00:00:00+00:00"
R6_EMERGENCY = "Red-flag symptoms (saddle numbness): stop exercising and seek medical care now."


def before_the_fix(document: dict[str, Any], **place: int) -> dict[str, Any]:
    """A stored envelope of an event the door took before it refused instants before 2000."""
    envelope = stored(document, **place)
    envelope["occurred_at"] = YEAR_ONE
    return envelope


def acme(user_id: str) -> UserKey:
    """The user as the planner keys them: `stored` writes them for the client acme."""
    return UserKey("acme", user_id)


def uow(engine: Engine):  # type: ignore[no-untyped-def]
    return lambda: SqlAlchemyUnitOfWork(engine)


def routine(engine: Engine, user: str) -> dict[str, Any]:
    current = SqlAlchemyPlannerReader(engine).current(acme(user))
    assert current is not None
    return current[1].routine


def test_an_event_the_rules_cannot_fold_pauses_its_user_naming_it(engine: Engine) -> None:
    user = new_user_id()
    apply_event(uow(engine), stored(baseline(user), stream_version=1, position=1))
    assert routine(engine, user)["status"] == "active"

    bad = before_the_fix(pain(user, score=3), stream_version=2, position=2)
    result = apply_event(uow(engine), bad)

    assert result.outcome is Applied.SET_ASIDE and result.routine_version == 2
    now = routine(engine, user)
    assert now["status"] == "paused"  # never the stale active routine
    assert bad["event_id"] in now["pause_reason"]
    assert now["blocks"] == []
    assert [u["event_id"] for u in now["unapplied_events"]] == [bad["event_id"]]
    assert "OverflowError" in now["unapplied_events"][0]["error"]
    assert SqlAlchemyPlannerReader(engine).users_with_unapplied_events() >= 1


def test_later_events_still_apply_and_a_later_red_flag_still_pauses_with_r6(
    engine: Engine,
) -> None:
    user, other = new_user_id(), new_user_id()
    envelopes = [
        before_the_fix(pain(user, score=3), stream_version=1, position=1),
        stored(baseline(user), stream_version=2, position=2),
        stored(baseline(other), stream_version=1, position=3),
        stored(workout(user, day=1), stream_version=3, position=4),
    ]
    # One transaction, as the consumer applies a batch: nothing raises, nothing dead-letters.
    outcomes = [r.outcome for r in apply_events(uow(engine), envelopes)]
    assert outcomes[0] is Applied.SET_ASIDE
    assert Applied.SET_ASIDE not in outcomes[1:]
    assert routine(engine, other)["status"] == "active"  # other users are unaffected
    assert routine(engine, user)["status"] == "paused"
    assert SqlAlchemyPlannerReader(engine).current(acme(user))[0].applied_position == 4  # type: ignore[index]

    flagged = stored(
        pain(user, score=6, day=2, red_flags=["saddle_numbness"]), stream_version=4, position=5
    )
    assert apply_event(uow(engine), flagged).outcome is Applied.ROUTINE_CHANGED
    now = routine(engine, user)
    assert now["status"] == "paused"
    assert now["pause_reason"] == R6_EMERGENCY
    assert [a["rule"] for a in now["advice"]] == ["R6"]
    assert [u["event_id"] for u in now["unapplied_events"]] == [envelopes[0]["event_id"]]


def test_a_red_flag_in_an_event_that_cannot_be_folded_is_still_heard(engine: Engine) -> None:
    user = new_user_id()
    apply_event(uow(engine), stored(baseline(user), stream_version=1, position=1))
    bad = before_the_fix(
        pain(user, score=6, red_flags=["saddle_numbness"]), stream_version=2, position=2
    )
    apply_event(uow(engine), bad)
    now = routine(engine, user)
    assert now["status"] == "paused"
    assert now["pause_reason"].startswith(R6_EMERGENCY) and bad["event_id"] in now["pause_reason"]
    assert now["advice"][0]["severity"] == "emergency"


def test_the_audit_replays_a_user_with_an_event_set_aside_exactly(engine: Engine) -> None:
    user = new_user_id()
    for envelope in (
        stored(baseline(user), stream_version=1, position=1),
        before_the_fix(pain(user, score=3), stream_version=2, position=2),
        stored(workout(user, day=1), stream_version=3, position=3),
        stored(pain(user, score=6, day=2, red_flags=["fever"]), stream_version=4, position=4),
    ):
        apply_event(uow(engine), envelope)
    reader = SqlAlchemyPlannerReader(engine)
    replayed = replay_versions(reader.events_in_applied_order(acme(user)))
    assert audit(reader.history(acme(user)), replayed)["reproduced"]


class StreamFeed:
    """One user's stream as traininglog's feed serves it; it may break after `events_before`."""

    def __init__(self, envelopes: list[dict[str, Any]], events_before: int | None = None) -> None:
        self._envelopes = envelopes
        self._events_before = events_before

    def head(self) -> int:
        return self._envelopes[-1]["position"]

    def user_events(self, user: UserKey, after_version: int = 0) -> Iterator[dict[str, Any]]:
        for number, envelope in enumerate(self._envelopes):
            if number == self._events_before:
                raise requests.ConnectionError("traininglog went away")
            yield envelope


def snapshot(engine: Engine, user: str) -> tuple[Any, ...]:
    reader = SqlAlchemyPlannerReader(engine)
    return (
        [v.as_json() for v in reader.history(acme(user))],
        [e.event_id for e in reader.events(acme(user))],
        reader.current(acme(user)),
    )


def test_a_one_user_rebuild_that_fails_leaves_the_previous_projections(engine: Engine) -> None:
    user = new_user_id()
    envelopes = [
        stored(baseline(user), stream_version=1, position=1),
        stored(workout(user, day=1), stream_version=2, position=2),
    ]
    for envelope in envelopes:
        apply_event(uow(engine), envelope)
    before = snapshot(engine, user)

    with pytest.raises(requests.ConnectionError):
        rebuild_user(uow(engine), StreamFeed(envelopes, events_before=1), acme(user))
    assert snapshot(engine, user) == before

    # An event the planner cannot even store: everything of the rebuild is rolled back.
    unstorable = [*envelopes, {**envelopes[1], "event_id": "x", "occurred_at": "yesterday"}]
    with pytest.raises(RebuildFailed):
        rebuild_user(uow(engine), StreamFeed(unstorable), acme(user))
    assert snapshot(engine, user) == before


def test_a_one_user_rebuild_sets_aside_what_live_processing_set_aside(engine: Engine) -> None:
    user = new_user_id()
    envelopes = [
        stored(baseline(user), stream_version=1, position=1),
        before_the_fix(pain(user, score=3), stream_version=2, position=2),
        stored(workout(user, day=1), stream_version=3, position=3),
    ]
    for envelope in envelopes:
        apply_event(uow(engine), envelope)
    live = snapshot(engine, user)
    assert rebuild_user(uow(engine), StreamFeed(envelopes), acme(user)) == 3
    assert snapshot(engine, user) == live
    assert routine(engine, user)["status"] == "paused"


def test_a_full_rebuild_skips_and_reports_a_user_instead_of_aborting(sqlite_engine: Engine) -> None:
    ana, ben, cas = new_user_id(), new_user_id(), new_user_id()
    envelopes = [
        stored(baseline(ana), stream_version=1, position=1),
        before_the_fix(pain(ben, score=3), stream_version=1, position=2),
        stored(baseline(ben), stream_version=2, position=3),
        stored(baseline(cas), stream_version=1, position=4),
        stored(workout(ana, day=1), stream_version=2, position=5),
        stored(workout(cas, day=1), stream_version=2, position=6),
    ]
    # cas's baseline comes from the feed, but what it says cannot be read as an event.
    del envelopes[3]["source"]
    skipped: list[tuple[str, str]] = []
    read = rebuild(
        uow(sqlite_engine),
        ListFeed(envelopes),
        on_skipped=lambda user, error: skipped.append((user, error)),
    )
    assert read == 6  # not aborted after wiping the projections
    assert [user for user, _ in skipped] == [cas]
    assert envelopes[3]["event_id"] in skipped[0][1] and "KeyError" in skipped[0][1]
    assert routine(sqlite_engine, ana)["status"] == "active"
    assert routine(sqlite_engine, ben)["status"] == "paused"  # set aside, as live processing
    skipped_routine = routine(sqlite_engine, cas)
    assert skipped_routine["status"] == "paused"
    assert envelopes[3]["event_id"] in skipped_routine["pause_reason"]
