"""The baseline's D11 session budget and D19 access fields: optional, bounded, named when wrong."""

import pytest
from marshmallow import ValidationError

from backtrack_shared.contracts import NewEventSchema
from tests.factories import baseline, new_user_id


def _with(**fields: object) -> dict:
    document = baseline(new_user_id())
    document["payload"].update(fields)
    return document


def test_a_session_budget_of_20_to_120_minutes_and_access_to_a_pool_load():
    loaded = NewEventSchema().load(_with(session_budget_min=45, access=["pool", "gym"]))
    assert loaded["payload"]["session_budget_min"] == 45
    assert loaded["payload"]["access"] == ["pool", "gym"]
    assert "session_budget_min" not in NewEventSchema().load(_with())["payload"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"session_budget_min": 19}, "session_budget_min"),
        ({"session_budget_min": 121}, "session_budget_min"),
        ({"session_budget_min": "an hour"}, "session_budget_min"),
        ({"access": ["moon"]}, "access"),
        ({"access": "pool"}, "access"),
    ],
)
def test_a_bad_budget_or_access_is_refused_naming_the_field(fields, field):
    with pytest.raises(ValidationError) as caught:
        NewEventSchema().load(_with(**fields))
    assert field in caught.value.messages["payload"]  # type: ignore[index]
