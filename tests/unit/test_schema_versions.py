"""pain.reported version 2 beside version 1: both accepted, both read as version 2."""

import pytest
from marshmallow import ValidationError

from backtrack_shared.contracts import LATEST_VERSIONS, NewEventSchema, upcast
from tests.factories import new_user_id, pain


def test_a_version_1_report_is_read_as_version_2_without_rewriting_it():
    payload = {"score": 3, "timing": "during", "location": "lower back", "red_flags": []}
    assert upcast("pain.reported", 1, payload) == (2, {**payload, "radiates_to": "unknown"})
    assert "radiates_to" not in payload
    assert LATEST_VERSIONS["pain.reported"] == 2


def test_version_2_takes_the_new_field_and_version_1_refuses_it():
    v2 = pain(new_user_id(), score=3, radiates_to="thigh")
    v2["schema_version"] = 2
    assert NewEventSchema().load(v2)["payload"]["radiates_to"] == "thigh"
    v1 = pain(new_user_id(), score=3, radiates_to="thigh")
    with pytest.raises(ValidationError) as caught:
        NewEventSchema().load(v1)
    assert caught.value.messages == {"payload": {"radiates_to": ["Unknown field."]}}


def test_types_without_a_second_version_pass_through_unchanged():
    payload = {"walk_min": 20}
    assert upcast("baseline.assessed", 1, payload) == (1, payload)
