import copy
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from backtrack_shared.contracts import NewEventSchema, StoredEnvelopeSchema, canonical_body
from tests.factories import baseline, envelope, new_user_id, pain, workout


def load(document: dict) -> dict:
    return NewEventSchema().load(document)


def errors_of(document: dict) -> dict:
    with pytest.raises(ValidationError) as caught:
        load(document)
    return caught.value.messages  # type: ignore[return-value]


@pytest.mark.parametrize("make", [baseline, workout, lambda u: pain(u, score=3)])
def test_valid_envelopes_load(make):
    document = make(new_user_id())
    loaded = load(document)
    assert loaded["event_id"] == document["event_id"]
    assert loaded["occurred_at"].tzinfo is not None


def test_pain_score_out_of_range_names_the_payload_field():
    assert errors_of(pain(new_user_id(), score=11)) == {
        "payload": {"score": ["Must be greater than or equal to 0 and less than or equal to 10."]}
    }


def test_unknown_exercise_slug_is_rejected_inside_the_workout():
    document = workout(new_user_id())
    document["payload"]["exercises"][0]["exercise"] = "deadlift"
    assert "exercise" in errors_of(document)["payload"]["exercises"][0]


def test_occurred_at_needs_an_offset():
    document = baseline(new_user_id())
    document["occurred_at"] = "2026-09-01T08:00:00"
    assert errors_of(document) == {"occurred_at": ["Not a valid aware datetime."]}


def test_occurred_at_far_in_the_future_is_rejected():
    document = baseline(new_user_id())
    document["occurred_at"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert errors_of(document) == {"occurred_at": ["Lies more than 24 hours in the future."]}


def test_unknown_type_unknown_version_and_unknown_fields():
    user = new_user_id()
    assert "type" in errors_of(envelope("sleep.logged", {}, user_id=user))
    document = baseline(user)
    document["schema_version"] = 7
    assert errors_of(document) == {
        "schema_version": ["Version 7 of baseline.assessed is not known."]
    }
    document = baseline(user)
    document["recorded_at"] = "2026-09-01T08:00:00Z"
    assert errors_of(document) == {"recorded_at": ["Unknown field."]}


def test_red_flags_must_be_known_codes():
    document = pain(new_user_id(), score=2, red_flags=["headache"])
    assert "red_flags" in errors_of(document)["payload"]


def test_canonical_body_ignores_key_order_but_keeps_the_offset():
    document = baseline(new_user_id())
    reordered = dict(reversed(list(copy.deepcopy(document).items())))
    assert canonical_body(load(document)) == canonical_body(load(reordered))
    shifted = copy.deepcopy(document)
    shifted["occurred_at"] = "2026-09-01T10:00:00+02:00"  # the same instant, another calendar
    assert canonical_body(load(document)) != canonical_body(load(shifted))


def test_stored_envelope_accepts_old_events_and_the_store_fields():
    document = baseline(new_user_id())
    document["occurred_at"] = "2019-01-01T08:00:00+01:00"
    stored = {
        **document,
        "recorded_at": "2026-09-01T08:00:00+00:00",
        "stream_version": 1,
        "position": 42,
        "tenant": "acme",
    }
    assert StoredEnvelopeSchema().load(stored)["event_id"] == document["event_id"]
