"""Fail safe, per user, in the pure replay: whatever the order of a user's events and wherever an
event the rules cannot fold lies among them, the routine never answers active while it is set
aside, names it, and a red flag reported after it still pauses with R6's referral."""

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.domain import LoggedEvent
from planner.domain.failsafe import Unapplied, fail_safe
from planner.domain.versions import replay

sys.path.insert(0, str(Path(__file__).parent / "planner_domain"))
from domain_builders import History, entry

R6_EMERGENCY = "Red-flag symptoms (saddle numbness): stop exercising and seek medical care now."


def a_history(days: int) -> list[LoggedEvent]:
    history = History(user="u1")
    history.baseline(walk_min=20, plank_s=20, pain_at_rest=2, flexibility="fair")
    for day in range(1, days + 1):
        history.workout(
            day, [entry("walking", "cardio", [{"duration_min": 10}]), entry("plank", "core")]
        )
        history.pain(day, score=2, timing="after")
    return history.events


def year_one_pain(position: int) -> LoggedEvent:
    return LoggedEvent(
        event_id="bad-event",
        type="pain.reported",
        user_id="u1",
        occurred_at=datetime(1, 1, 1, tzinfo=UTC),
        stream_version=999,
        position=position,
        source={"kind": "app", "name": "app"},
        payload={"score": 3, "timing": "during", "location": "back", "red_flags": []},
    )


@settings(max_examples=30, deadline=None)
@given(days=st.integers(0, 6), where=st.data())
def test_a_set_aside_event_never_leaves_the_routine_active(days: int, where: st.DataObject) -> None:
    events = a_history(days)
    index = where.draw(st.integers(0, len(events)))
    events.insert(index, year_one_pain(position=0))
    # Applied in this order: the feed's positions follow it.
    events = [replace(event, position=n) for n, event in enumerate(events, start=1)]
    replayed = replay(events)
    assert [u.event_id for u in replayed.unapplied] == ["bad-event"]
    after = [v for v in replayed.versions if v.applied_position >= index + 1]
    assert after, "setting the event aside makes a version"
    for version in after:
        assert version.routine["status"] == "paused"
        assert version.routine["unapplied_events"][0]["event_id"] == "bad-event"
    assert "bad-event" in replayed.versions[-1].routine["pause_reason"]


@settings(max_examples=20, deadline=None)
@given(days=st.integers(0, 4))
def test_a_red_flag_after_a_set_aside_event_pauses_with_r6(days: int) -> None:
    history = History(user="u1")
    history.baseline(walk_min=20, plank_s=20, pain_at_rest=2, flexibility="fair")
    events = [history.events[0], year_one_pain(position=1)]
    for day in range(1, days + 1):
        events.append(history.workout(day, [entry("walking", "cardio", [{"duration_min": 10}])]))
    events.append(history.pain(days + 1, score=6, timing="during", red_flags=["saddle_numbness"]))
    current = replay(events).versions[-1].routine
    assert current["status"] == "paused"
    assert current["pause_reason"] == R6_EMERGENCY


@given(
    status=st.sampled_from(["active", "paused"]),
    ids=st.lists(st.uuids().map(str), min_size=1, max_size=3, unique=True),
)
def test_fail_safe_always_pauses_and_names_every_event(status: str, ids: list[str]) -> None:
    routine = {"status": status, "pause_reason": "R6 says so" if status == "paused" else None}
    safe = fail_safe(routine, [Unapplied(event_id, "Boom: no") for event_id in ids])
    assert safe["status"] == "paused"
    assert [u["event_id"] for u in safe["unapplied_events"]] == ids
    if status == "paused":
        assert safe["pause_reason"] == "R6 says so"  # the rules' own pause keeps its reason
    else:
        assert ids[0] in safe["pause_reason"]
