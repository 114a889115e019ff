"""Values no body produces are refused at the door, each naming the field and the reason
(shared/backtrack_shared/contracts/limits.py)."""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from backtrack_shared import catalogue
from backtrack_shared.contracts import NewEventSchema, StoredEnvelopeSchema
from backtrack_shared.contracts.envelope import implausible_instant
from backtrack_shared.contracts.limits import EARLIEST_INSTANT, MAX_RED_FLAGS
from planner.domain.exercises import BLOCK_KIND, EXERCISES
from tests.factories import baseline, envelope, new_user_id, pain, workout


def errors_of(document: dict[str, Any]) -> Any:
    with pytest.raises(ValidationError) as caught:
        NewEventSchema().load(document)
    return caught.value.messages


def a_workout(**changes: Any) -> dict[str, Any]:
    document = workout(new_user_id())
    document["payload"].update(changes)
    return document


def first_set(document: dict[str, Any]) -> dict[str, Any]:
    return document["payload"]["exercises"][0]["sets"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "instant",
    ["0001-01-01T00:00:00+00:00", "1900-01-01T00:00:00+00:00", "1999-12-31T23:59:59+00:00"],
)
def test_an_instant_before_2000_is_refused_naming_occurred_at(instant: str) -> None:
    document = pain(new_user_id(), score=3)
    document["occurred_at"] = instant
    assert list(errors_of(document)) == ["occurred_at"]
    assert "2000-01-01" in errors_of(document)["occurred_at"][0]


def test_the_first_instant_of_2000_is_taken() -> None:
    document = pain(new_user_id(), score=3)
    document["occurred_at"] = "2000-01-01T00:00:00+00:00"
    NewEventSchema().load(document)


@given(st.datetimes(timezones=st.just(UTC)))
def test_an_instant_is_taken_exactly_between_2000_and_a_day_ahead(instant: datetime) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    taken = EARLIEST_INSTANT <= instant <= now + timedelta(hours=24)
    assert (implausible_instant(instant, now) is None) is taken


def test_a_stored_event_from_before_2000_is_still_read() -> None:
    """The bound is the client's door: the planner must still read what was stored before it."""
    document = pain(new_user_id(), score=3)
    document.update(
        occurred_at="1900-01-01T00:00:00+00:00",
        recorded_at="2026-01-01T00:00:00+00:00",
        tenant="acme",
        stream_version=1,
        position=1,
    )
    StoredEnvelopeSchema().load(document)


def test_a_user_id_with_a_final_newline_is_refused() -> None:
    document = baseline(new_user_id())
    document["user_id"] = "u1\n"
    assert list(errors_of(document)) == ["user_id"]


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("load_kg", 1000),
        ("hold_s", 3600),
        ("reps", 5000),
        ("duration_min", 600),
    ],
)
def test_a_set_no_body_does_is_refused_naming_the_field(where: str, value: float) -> None:
    document = a_workout()
    first_set(document).clear()
    first_set(document)[where] = value
    errors = errors_of(document)["payload"]["exercises"][0]["sets"][0]
    assert list(errors) == [where]
    assert ":" in errors[where][0]  # the range, then why


def test_fifty_sets_of_600_minutes_in_a_ten_minute_workout_are_refused() -> None:
    document = a_workout(duration_min=10)
    document["payload"]["exercises"][0]["sets"] = [{"duration_min": 600}] * 50
    errors = errors_of(document)["payload"]
    assert "sets" in errors["exercises"][0]  # more sets than a session holds


def test_the_sets_minutes_cannot_exceed_the_workout_duration() -> None:
    document = a_workout(duration_min=10)
    document["payload"]["exercises"][0]["sets"] = [{"duration_min": 10} for _ in range(3)]
    assert errors_of(document) == {
        "payload": {
            "exercises": ["The sets add up to 31.3333 minutes, more than the 10-minute session."]
        }
    }
    first_set(document)["duration_min"] = 0  # 21.3 minutes: more than 20, half as much again
    assert "exercises" in errors_of(document)["payload"]


def test_a_rounded_device_duration_is_taken() -> None:
    document = a_workout(duration_min=10)
    document["payload"]["exercises"] = document["payload"]["exercises"][:1]
    first_set(document)["duration_min"] = 15  # estimated by the user, measured by the watch
    NewEventSchema().load(document)


def test_walking_is_not_strength() -> None:
    document = a_workout()
    document["payload"]["exercises"][0]["kind"] = "strength"
    assert errors_of(document) == {
        "payload": {
            "exercises": {
                0: {"kind": ["walking is logged as cardio or warmup or cooldown, not strength."]}
            }
        }
    }


def test_every_catalogue_kind_is_the_planners_block() -> None:
    assert set(catalogue.EXERCISE_KIND) == set(catalogue.EXERCISES) == set(EXERCISES)
    for slug, exercise in EXERCISES.items():
        assert catalogue.EXERCISE_KIND[slug] == BLOCK_KIND[exercise.block], slug


@pytest.mark.parametrize(
    ("metric", "period", "target", "taken"),
    [
        ("weekly_minutes", "week", 100_000, False),
        ("weekly_minutes", "week", 300, True),
        ("weekly_minutes", "month", 1200, True),
        ("sessions_per_week", "week", 50, False),
        ("plank_s", "week", 3600, False),
    ],
)
def test_a_goal_no_body_reaches_is_refused(
    metric: str, period: str, target: float, taken: bool
) -> None:
    payload = {"goal_id": "g1", "metric": metric, "target": target, "period": period}
    document = envelope("goal.set", payload, user_id=new_user_id())
    if taken:
        NewEventSchema().load(document)
    else:
        assert list(errors_of(document)["payload"]) == ["target"]


def test_ten_thousand_copies_of_a_red_flag_are_refused() -> None:
    document = pain(new_user_id(), score=3, red_flags=["fever"] * 10_000)
    assert list(errors_of(document)["payload"]) == ["red_flags"]
    document = pain(new_user_id(), score=3, red_flags=["fever", "fever"])
    assert errors_of(document) == {"payload": {"red_flags": ["Each item may appear once."]}}


def test_every_red_flag_at_once_is_taken() -> None:
    assert len(catalogue.RED_FLAGS) == MAX_RED_FLAGS
    NewEventSchema().load(pain(new_user_id(), score=3, red_flags=list(catalogue.RED_FLAGS)))


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/../etc/passwd", "", "UTC\n"])
def test_a_time_zone_must_be_an_iana_zone(zone: str) -> None:
    document = baseline(new_user_id(), time_zone=zone)
    assert list(errors_of(document)["payload"]) == ["time_zone"]


def test_a_real_time_zone_is_taken() -> None:
    NewEventSchema().load(baseline(new_user_id(), time_zone="Europe/Madrid"))


def test_the_factories_and_the_readme_stay_plausible() -> None:
    for document in (baseline(new_user_id()), workout(new_user_id()), pain(new_user_id(), score=2)):
        NewEventSchema().load(copy.deepcopy(document))
