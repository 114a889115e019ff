"""The compiled loading path (backtrack_shared.contracts.compiled) decides a document only the
way marshmallow decides it: whatever it accepts, marshmallow accepts with the same result, and
whatever marshmallow refuses, it leaves to marshmallow (which names the field)."""

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from backtrack_shared.contracts import NewEventSchema, StoredEnvelopeSchema, compiled
from backtrack_shared.contracts.registry import _SCHEMAS
from tests.factories import baseline, envelope, new_user_id, pain, workout

SCHEMA = NewEventSchema()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["walking", "cardio", "app", "during", "2026-09-01T08:00:00+00:00", "x"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def documents() -> list[dict[str, Any]]:
    user = new_user_id()
    return [
        baseline(user, time_zone="Europe/Madrid", session_budget_min=45, access=["home"]),
        workout(user),
        pain(user, score=3),
        pain(user, score=4, flare_up_cause="core", red_flags=[]),
        envelope("clearance.recorded", {"clinician": "Dr A", "scopes": ["running"]}, user_id=user),
        envelope(
            "goal.set",
            {"goal_id": "g", "metric": "weekly_minutes", "target": 30, "period": "week"},
            user_id=user,
        ),
        envelope("recovery.logged", {"kind": "rest_day", "duration_min": 480}, user_id=user),
    ]


def paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*path, index))
    return found


def outcome(load: Any, data: Any) -> tuple[str, Any]:
    try:
        return "loaded", load(data)
    except ValidationError as err:
        return "refused", err.messages
    except compiled.Unsure:
        return "unsure", None


def assert_decides_as_marshmallow(schema: Schema, data: Any) -> None:
    loader = compiled._schema_loader(schema)
    assert loader is not None, "the schema compiles"
    fast = outcome(loader, copy.deepcopy(data))
    slow = outcome(lambda d: Schema.load(schema, d), copy.deepcopy(data))
    if fast[0] == "loaded":
        assert slow == fast
    else:
        assert fast[0] == "unsure"
    # And the schema's own load answers what marshmallow answers, errors included.
    assert outcome(schema.load, copy.deepcopy(data)) == slow


@pytest.mark.parametrize("index", range(len(documents())))
def test_valid_documents_take_the_compiled_path_with_marshmallows_result(index: int) -> None:
    document = documents()[index]
    loader = compiled._schema_loader(SCHEMA)
    assert loader is not None
    assert loader(copy.deepcopy(document)) == Schema.load(SCHEMA, copy.deepcopy(document))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_changed_document_is_decided_as_marshmallow_decides_it(data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(documents()))
    path = data.draw(st.sampled_from(paths(document)[1:]))
    *parent_path, last = path
    parent = document
    for step in parent_path:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[last] = data.draw(json_values)
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))
    assert_decides_as_marshmallow(SCHEMA, document)


@pytest.mark.parametrize("key", sorted(_SCHEMAS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(st.text(max_size=12), json_values, max_size=5))
def test_any_payload_is_decided_as_marshmallow_decides_it(
    key: tuple[str, int], payload: dict[str, Any]
) -> None:
    assert_decides_as_marshmallow(_SCHEMAS[key](), payload)


def test_stored_envelopes_compile_too() -> None:
    stored = {
        **workout(new_user_id()),
        "recorded_at": "2026-09-01T08:00:01+00:00",
        "tenant": "t",
        "stream_version": 1,
        "position": 7,
    }
    assert_decides_as_marshmallow(StoredEnvelopeSchema(), stored)
    assert compiled._schema_loader(StoredEnvelopeSchema())(stored) is not None


TRICKY = [
    None,
    True,
    False,
    0,
    1,
    -1,
    11,
    1.5,
    2**63 - 1,
    "",
    "x",
    "1",
    "true",
    [],
    [1],
    {},
    {"reps": 1},
    "walking",
    "2026-09-01T08:00:00+00:00",
    "2026-09-01T08:00:00",
]


@pytest.mark.parametrize("index", range(len(documents())))
def test_every_value_replaced_by_a_tricky_one_or_left_out_is_decided_as_marshmallow_does(
    index: int,
) -> None:
    for path in paths(documents()[index])[1:]:
        for change in [*TRICKY, "delete"]:
            document = documents()[index]
            *parent_path, last = path
            parent = document
            for step in parent_path:
                parent = parent[step]
            if change == "delete":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(change)
            assert_decides_as_marshmallow(SCHEMA, document)
