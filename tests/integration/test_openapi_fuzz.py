"""Both services' OpenAPI documents, fuzzed by schemathesis against the apps on PostgreSQL.

Every documented operation gets valid requests, invalid ones where it takes input, and, where its
path names a user, requests about a user with real events and about awkward user ids. Every
answer passes every check schemathesis has (`st run --checks all`): no 5xx, a documented status,
content type, headers and body, valid requests taken and invalid ones refused, 405s with Allow,
a missing key refused.

One pytest test per operation and kind, running schemathesis' Hypothesis strategy itself (rather
than `schemathesis.pytest.from_fixture`, whose subtests break on pytest 9.2's Function nodes).
"""

import functools
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from sqlalchemy import Engine

import tests.support.schemathesis_hooks  # noqa: F401  (what only words say, as `st run` knows it)
from backtrack_shared.contracts.limits import MAX_JSON_DEPTH
from backtrack_shared.db import create_database_engine
from planner.adapters.projection_store import SqlAlchemyUnitOfWork as PlannerUnitOfWork
from planner.service_layer.apply import apply_event
from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.apps import planner_app, traininglog_app
from tests.support.stores import with_key_store

pytestmark = pytest.mark.integration

# Every check schemathesis has, as `st run --checks all` runs them (schemathesis.toml applies to
# both: the statuses a valid request may meet, /readyz's 503).
load_all_checks()
CHECKS = CHECKS.get_all()
# A bounded, repeatable run by default; FUZZ_EXAMPLES=300 fuzzes harder with fresh randomness.
EXAMPLES = os.environ.get("FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(EXAMPLES or 12),
    deadline=None,
    derandomize=EXAMPLES is None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

APPS: dict[str, Callable[[Engine], Flask]] = {
    "traininglog": traininglog_app,
    "planner": planner_app,
}


@functools.cache
def openapi_document(service: str) -> dict[str, Any]:
    """A service's OpenAPI document, read at collection time: building its app touches no
    database, so one on a throwaway in-memory SQLite will do."""
    engine = create_database_engine("sqlite://")
    with with_key_store(engine, "sqlite://"):
        document: dict[str, Any] = (
            APPS[service](engine).test_client().get("/openapi.json").get_json()
        )
    engine.dispose()
    return document


# Path values a user_id must survive: each answers a documented 2xx or 4xx, never a 5xx.
AWKWARD_USER_IDS = {
    "nul": "a\x00b",
    "slash": "a/b",
    "too long": "u" * 300,
    "non-ascii": "\u00fcser",
    "percent": "100%",
    "space": " ",
}


def documented_operations(service: str) -> list[Any]:
    """Every operation of a service's OpenAPI document, read at collection time, with the kinds of
    requests it gets: valid ones; invalid ones where it takes a query, a body or a constrained path
    parameter; valid ones about a user with events, where its path names a user.

    """
    spec = openapi_document(service)
    params = []
    for path, item in sorted(spec["paths"].items()):
        path_parameters = item.get("parameters", [])
        for method in sorted(m for m in item if m in {"get", "post", "put", "patch", "delete"}):
            operation = item[method]
            label = f"{method.upper()} {path}"
            takes_input = "requestBody" in operation or any(
                p["in"] == "query" for p in operation.get("parameters", [])
            )
            kinds = ["valid"]
            # A path parameter can be made invalid only when it has a constraint beyond minLength.
            if takes_input or any("pattern" in p["schema"] for p in path_parameters):
                kinds.append("invalid")
            if any(p["name"] == "user_id" for p in path_parameters):
                kinds.append("seeded user")
                kinds += [f"user_id {name}" for name in AWKWARD_USER_IDS]
            params += [
                pytest.param(
                    service,
                    label,
                    kind,
                    id=f"{service}:{label}:{kind}",
                )
                for kind in kinds
            ]
    return params


@pytest.fixture(scope="module")
def schemas(postgres_engine: Engine) -> dict[str, Any]:
    return {
        service: schemathesis.openapi.from_wsgi("/openapi.json", build(postgres_engine))
        for service, build in APPS.items()
    }


# The operator's key: every operation answers for every user, as documented.
AUTHORIZED = KEYS.header("ops")


def seed_user(postgres_engine: Engine, schemas: dict[str, Any]) -> str:
    """A user with a baseline, a workout and a pain report in traininglog, applied by the planner,
    so that answers about them carry real pages, routines and histories to check."""
    user = new_user_id()
    traininglog = schemas["traininglog"].app.test_client()
    for document in (baseline(user), workout(user), pain(user, score=3)):
        answer = traininglog.post("/v1/events", json=document, headers=AUTHORIZED)
        assert answer.status_code == 201
    stream = traininglog.get(f"/v1/users/{user}/events", headers=AUTHORIZED).get_json()["events"]
    for envelope in stream:
        apply_event(lambda: PlannerUnitOfWork(postgres_engine), envelope)
    return user


@pytest.fixture(scope="module")
def seeded_user(postgres_engine: Engine, schemas: dict[str, Any]) -> str:
    return seed_user(postgres_engine, schemas)


STRATEGIES: dict[str, Callable[[Any, str], Any]] = {
    "valid": lambda operation, _: operation.as_strategy(GenerationMode.POSITIVE),
    "invalid": lambda operation, _: operation.as_strategy(GenerationMode.NEGATIVE),
    "seeded user": lambda operation, user: operation.as_strategy(
        GenerationMode.POSITIVE, path_parameters={"user_id": user}
    ),
}


@pytest.mark.parametrize(
    ("service", "label", "kind"),
    documented_operations("traininglog") + documented_operations("planner"),
)
def test_answers_as_documented(
    postgres_engine: Engine,
    schemas: dict[str, Any],
    seeded_user: str,
    service: str,
    label: str,
    kind: str,
) -> None:
    operation = schemas[service].find_operation_by_label(label)
    assert operation is not None, label
    if kind.startswith("user_id "):
        user_id = AWKWARD_USER_IDS[kind.removeprefix("user_id ")]
        # Any other path parameter (a grant's client_id) gets a client the keys file knows.
        case = operation.Case(path_parameters={"client_id": "globex", "user_id": user_id})
        case.call_and_validate(checks=CHECKS, headers=AUTHORIZED)
        return
    if label.startswith("DELETE"):  # erasing: a user of its own, the others keep theirs
        seeded_user = seed_user(postgres_engine, schemas)

    @FUZZ
    @given(case=STRATEGIES[kind](operation, seeded_user))
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS, headers=AUTHORIZED)

    fuzz()


# --- the structure fuzzer --------------------------------------------------------------------
# schemathesis generates documents a JSON encoder writes; an attacker writes text. Starting from
# a valid body of each operation that reads one, this splices in what no encoder writes: nesting
# thousands deep, integers of thousands of digits, keys given twice, control characters and lone
# surrogates in text. Every answer must be documented and no 5xx.


class Raw:
    """JSON text spliced into a document as it is."""

    def __init__(self, text: str) -> None:
        self.text = text


class Twice:
    """An object with one of its keys given twice (the second time with `value`)."""

    def __init__(self, document: dict[str, Any], key: str, value: Any) -> None:
        self.document, self.key, self.value = document, key, value


def to_text(node: Any) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Twice):
        pairs = [*node.document.items(), (node.key, node.value)]
        return "{" + ",".join(f"{json.dumps(k)}:{to_text(v)}" for k, v in pairs) + "}"
    if isinstance(node, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_text(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(to_text(v) for v in node) + "]"
    return json.dumps(node)


def places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document, the document itself included."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += places(value, (*path, index))
    return found


def replaced(node: Any, path: tuple[Any, ...], make: Callable[[Any], Any]) -> Any:
    if not path:
        return make(node)
    head, *rest = path
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = replaced(node[head], tuple(rest), make)
    return copy


CONTROL = st.sampled_from(
    [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))]
)
DEEP = st.integers(min_value=MAX_JSON_DEPTH - 2, max_value=6000)


@st.composite
def attacked(draw: st.DrawFn, document: Any) -> str:
    """`document` as JSON text with one to three things no encoder writes spliced in."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places(document)))
        kind = draw(st.sampled_from(["deep", "huge", "twice", "control", "surrogate"]))
        if kind == "deep":
            levels, opener = draw(DEEP), draw(st.sampled_from(['{"a":', "["]))
            closer = "}" if opener == '{"a":' else "]"
            document = replaced(
                document, path, lambda _, n=levels, o=opener, c=closer: Raw(o * n + "1" + c * n)
            )
        elif kind == "huge":
            digits = draw(st.integers(min_value=19, max_value=6000))
            text = draw(st.sampled_from(["", "-"])) + "9" * digits
            text += draw(st.sampled_from(["", ".5", "e999"]))
            document = replaced(document, path, lambda _, t=text: Raw(t))
        elif kind == "twice":

            def twice(node: Any) -> Any:
                if isinstance(node, dict) and node:
                    key = draw(st.sampled_from(sorted(node)))
                    return Twice(node, key, draw(st.integers(-5, 5)))
                return node

            document = replaced(document, path, twice)
        elif kind == "control":
            character = draw(CONTROL)
            document = replaced(
                document,
                path,
                lambda node, ch=character: f"{node}{ch}x" if isinstance(node, str) else f"a{ch}",
            )
        else:
            document = replaced(document, path, lambda _: Raw('"a\\ud800b"'))
    return to_text(document)


def seed_body(label: str) -> Any:
    """A valid body of each operation that reads one (others start from an empty object)."""
    user = new_user_id()
    return {
        "POST /v1/events": lambda: pain(user, score=3),
        "POST /v1/events/batch": lambda: {"events": [workout(user), pain(user, score=2)]},
        "POST /v1/admin/rebuild": lambda: {"user_id": user},
    }.get(label, dict)()


def operations_with_a_body(service: str) -> list[Any]:
    spec = openapi_document(service)
    return [
        pytest.param(service, f"{method.upper()} {path}", id=f"{service}:{method.upper()} {path}")
        for path, item in sorted(spec["paths"].items())
        for method, operation in sorted(item.items())
        if isinstance(operation, dict) and "requestBody" in operation
    ]


@pytest.mark.parametrize(
    ("service", "label"), operations_with_a_body("traininglog") + operations_with_a_body("planner")
)
def test_json_no_encoder_writes_answers_a_documented_4xx(
    schemas: dict[str, Any], service: str, label: str
) -> None:
    operation = schemas[service].find_operation_by_label(label)
    assert operation is not None, label
    documented = {int(status) for status in operation.definition.raw["responses"]}
    client = schemas[service].app.test_client()
    method, path = label.split(" ", 1)

    @FUZZ
    @given(text=attacked(seed_body(label)))
    def fuzz(text: str) -> None:
        answer = client.open(
            path,
            method=method,
            data=text.encode("utf-8", "surrogatepass"),
            headers={**AUTHORIZED, "Content-Type": "application/json"},
        )
        assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
        assert answer.status_code in documented, (answer.status_code, answer.get_data()[:300])
        assert answer.is_json
        if answer.status_code >= 400:  # an error body says what was refused
            assert answer.get_json()["code"] == answer.status_code

    fuzz()
