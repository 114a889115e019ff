"""Both services' OpenAPI documents, fuzzed by schemathesis against the apps on PostgreSQL.

Every documented operation gets valid requests, invalid ones where it takes input, and, where its
path names a user, requests about a user with real events and about awkward user ids. Every
answer must be no 5xx, a documented status code and content type, and a body matching the
documented schema.

One pytest test per operation and kind, running schemathesis' Hypothesis strategy itself (rather
than `schemathesis.pytest.from_fixture`, whose subtests break on pytest 9.2's Function nodes).
"""

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from planner.adapters.projection_store import SqlAlchemyPlannerReader
from planner.adapters.projection_store import SqlAlchemyUnitOfWork as PlannerUnitOfWork
from planner.entrypoints.http import create_app as create_planner_app
from planner.service_layer.apply import apply_event
from tests.factories import baseline, new_user_id, pain, workout
from tests.integration.conftest import keys_for
from tests.keys import KEYS
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.config import Settings
from traininglog.entrypoints.http import create_app as create_traininglog_app

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A bounded, repeatable run by default; FUZZ_EXAMPLES=300 fuzzes harder with fresh randomness.
EXAMPLES = os.environ.get("FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(EXAMPLES or 30),
    deadline=None,
    derandomize=EXAMPLES is None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def traininglog_app(engine: Engine | None) -> Flask:
    keys = keys_for(engine) if engine is not None else None
    return create_traininglog_app(
        Settings(max_batch_events=5, max_body_bytes=64 * 1024),
        unit_of_work=lambda: SqlAlchemyUnitOfWork(engine, keys),  # type: ignore[arg-type]
        reader=SqlAlchemyEventReader(engine, keys),  # type: ignore[arg-type]
        readiness_checks={"database": lambda: True},
        registry=lambda: KEYS.registry,
    )


class IdleRebuildJob:
    """A full rebuild that never starts: the fuzzer must not set one off in the background."""

    def start(self) -> bool:
        return False

    def status(self) -> dict[str, Any]:
        return {"state": "idle"}


def planner_app(engine: Engine | None) -> Flask:
    return create_planner_app(
        reader=SqlAlchemyPlannerReader(engine),  # type: ignore[arg-type]
        readiness_checks={"database": lambda: True, "broker": lambda: True},
        rebuild_job=IdleRebuildJob(),  # type: ignore[arg-type]
        rebuild_user=lambda user_id: (0, None),
        registry=lambda: KEYS.registry,
    )


APPS: dict[str, Callable[[Engine | None], Flask]] = {
    "traininglog": traininglog_app,
    "planner": planner_app,
}

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

    Building the app touches no database, so no engine is needed to list its operations."""
    spec = APPS[service](None).test_client().get("/openapi.json").get_json()
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
