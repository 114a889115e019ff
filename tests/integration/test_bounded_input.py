"""Bounded input through both services' apps on PostgreSQL: JSON beyond the documented bounds,
a user id with a final newline, and values no body produces get a 4xx naming the field and the
reason, on single posts, batches and the planner's rebuild endpoint; nothing is stored."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from backtrack_shared.contracts.limits import MAX_JSON_DEPTH
from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.apps import planner_app
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.config import Settings
from traininglog.entrypoints.http import create_app

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json", **KEYS.header("ops")}


@pytest.fixture(scope="module")
def traininglog(postgres_engine: Engine) -> FlaskClient:
    """As the service runs: the default body limit (2 MiB), so only the bounds under test refuse."""
    keys = keys_for(postgres_engine)
    return create_app(
        Settings(),
        unit_of_work=lambda: SqlAlchemyUnitOfWork(postgres_engine, keys),
        reader=SqlAlchemyEventReader(postgres_engine, keys),
        readiness_checks={"database": lambda: True},
        registry=lambda: KEYS.registry,
    ).test_client()


@pytest.fixture(scope="module")
def planner(postgres_engine: Engine) -> FlaskClient:
    return planner_app(postgres_engine).test_client()


def stored(traininglog: FlaskClient, user_id: str) -> int:
    answer = traininglog.get(f"/v1/users/{user_id}/events", headers=JSON)
    return 0 if answer.status_code == 404 else len(answer.get_json()["events"])


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# Each: the body text of a pain report with something beyond the bounds spliced in, the path
# the answer must name, and the reason it must give.
def pain_text(user: str, splice: Callable[[str], str]) -> str:
    return splice(json.dumps(pain(user, score=3)))


ATTACKS: dict[str, tuple[Callable[[str], str], str, str]] = {
    "5,000 levels deep": (
        lambda text: text.replace('"score": 3', f'"score": {nested(5000)}'),
        "_body",
        f"Nested deeper than {MAX_JSON_DEPTH} levels.",
    ),
    "40 levels deep": (
        lambda text: text.replace('"score": 3', f'"score": {nested(40)}'),
        "payload.score" + ".a" * (MAX_JSON_DEPTH - 1),
        f"Nested deeper than {MAX_JSON_DEPTH} levels.",
    ),
    "a 5,000-digit integer": (
        lambda text: text.replace('"score": 3', '"score": ' + "9" * 5000),
        "payload.score",
        "An integer beyond 64 bits (-2**63 to 2**63-1).",
    ),
    "a duplicate key": (
        lambda text: text.replace('"score": 3', '"score": 3, "score": 10'),
        "payload.score",
        "This key is given more than once.",
    ),
    "a NUL in text": (
        lambda text: text.replace('"lower back"', '"lower\\u0000back"'),
        "payload.location",
        "Contains the control character U+0000.",
    ),
    "an escape character in text": (
        lambda text: text.replace('"lower back"', '"lower\\u001b[2Jback"'),
        "payload.location",
        "Contains the control character U+001B.",
    ),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_json_beyond_the_bounds_is_refused_naming_where_single(
    traininglog: FlaskClient, attack: str
) -> None:
    splice, path, reason = ATTACKS[attack]
    user = new_user_id()
    answer = traininglog.post("/v1/events", data=pain_text(user, splice), headers=JSON)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["errors"]["json"] == {path: [reason]}
    assert stored(traininglog, user) == 0


@pytest.mark.parametrize("attack", ATTACKS)
def test_json_beyond_the_bounds_is_refused_naming_where_batch(
    traininglog: FlaskClient, attack: str
) -> None:
    splice, path, reason = ATTACKS[attack]
    user = new_user_id()
    body = '{"events": [' + pain_text(user, splice) + "]}"
    answer = traininglog.post("/v1/events/batch", data=body, headers=JSON)
    assert answer.status_code == 422
    where = path if path == "_body" else f"events.0.{path}"
    if attack == "40 levels deep":  # two levels more in a batch: the limit is met earlier
        where = "events.0.payload.score" + ".a" * (MAX_JSON_DEPTH - 3)
    assert answer.get_json()["errors"]["json"] == {where: [reason]}
    assert stored(traininglog, user) == 0


@pytest.mark.parametrize(
    "body",
    [
        nested(5000),
        '{"user_id": ' + "1" * 5000 + "}",
        '{"user_id": "ana", "user_id": "ben"}',
        '{"user_id": "a\\u0000b"}',
    ],
    ids=["deep", "huge integer", "duplicate key", "NUL"],
)
def test_the_planners_rebuild_refuses_json_beyond_the_bounds(
    planner: FlaskClient, body: str
) -> None:
    answer = planner.post("/v1/admin/rebuild", data=body, headers=JSON)
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"]


def test_a_user_id_with_a_final_newline_is_refused_everywhere(
    traininglog: FlaskClient, planner: FlaskClient
) -> None:
    document = baseline(new_user_id())
    document["user_id"] = "u1\n"
    single = traininglog.post("/v1/events", json=document, headers=JSON)
    assert single.status_code == 422
    assert list(single.get_json()["errors"]["json"]) == ["user_id"]
    batch = traininglog.post("/v1/events/batch", json={"events": [document]}, headers=JSON)
    assert batch.get_json()["results"][0]["status"] == "rejected"
    assert list(batch.get_json()["results"][0]["errors"]) == ["user_id"]
    rebuilt = planner.post("/v1/admin/rebuild", json={"user_id": "u1\n"}, headers=JSON)
    assert rebuilt.status_code == 422
    assert list(rebuilt.get_json()["errors"]["json"]) == ["user_id"]
    for path in ("/v1/users/u1%0A/events", "/v1/users/u1%0A"):
        assert traininglog.get(path, headers=JSON).status_code in (404, 405)
    assert planner.get("/v1/users/u1%0A/routine", headers=JSON).status_code == 404


def in_workout(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        document["payload"]["exercises"][0].update(changes)

    return mutate


IMPLAUSIBLE: dict[str, tuple[Callable[[str], dict[str, Any]], list[str]]] = {
    "load 1,000 kg": (
        lambda u: _with(workout(u), in_workout(sets=[{"reps": 5, "load_kg": 1000}])),
        ["payload", "exercises", "0", "sets", "0", "load_kg"],
    ),
    "a 3,600 s plank": (
        lambda u: _with(
            workout(u), in_workout(exercise="plank", kind="core", sets=[{"hold_s": 3600}])
        ),
        ["payload", "exercises", "0", "sets", "0", "hold_s"],
    ),
    "50 sets of 600 minutes in a 10-minute workout": (
        lambda u: _with(
            workout(u),
            lambda d: d["payload"].update(duration_min=10),
            in_workout(sets=[{"duration_min": 600}] * 50),
        ),
        ["payload", "exercises", "0", "sets"],
    ),
    "30,000 minutes in a 10-minute workout": (
        lambda u: _with(
            workout(u),
            lambda d: d["payload"].update(duration_min=10),
            in_workout(sets=[{"duration_min": 300}] * 10),
        ),
        ["payload", "exercises"],
    ),
    "walking as strength": (
        lambda u: _with(workout(u), in_workout(kind="strength")),
        ["payload", "exercises", "0", "kind"],
    ),
    "a goal of 100,000 weekly minutes": (
        lambda u: _goal(u, {"metric": "weekly_minutes", "target": 100_000, "period": "week"}),
        ["payload", "target"],
    ),
    "10,000 copies of one red flag": (
        lambda u: pain(u, score=3, red_flags=["fever"] * 10_000),
        ["payload", "red_flags"],
    ),
    "time zone Mars/Olympus": (
        lambda u: baseline(u, time_zone="Mars/Olympus"),
        ["payload", "time_zone"],
    ),
}


def _with(document: dict[str, Any], *mutations: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    for mutate in mutations:
        mutate(document)
    return document


def _goal(user: str, goal: dict[str, Any]) -> dict[str, Any]:
    from tests.factories import envelope

    return envelope("goal.set", {"goal_id": "g1", **goal}, user_id=user)


@pytest.mark.parametrize("case", IMPLAUSIBLE)
def test_values_no_body_produces_are_refused_naming_the_field(
    traininglog: FlaskClient, case: str
) -> None:
    make, path = IMPLAUSIBLE[case]
    user = new_user_id()
    answer = traininglog.post("/v1/events", json=make(user), headers=JSON)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    errors: Any = answer.get_json()["errors"]["json"]
    for key in path:
        errors = errors[key]
    assert errors and all(isinstance(message, str) and message for message in errors)
    assert stored(traininglog, user) == 0
