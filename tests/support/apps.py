"""Both services' Flask apps on a test database, called as a client would, and the planner
applying what the feed holds: what integration tests of several modules drive."""

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from planner.adapters.page_links import PageLinks
from planner.adapters.projection_store import SqlAlchemyPlannerReader
from planner.adapters.projection_store import SqlAlchemyUnitOfWork as PlannerUnitOfWork
from planner.entrypoints.http import create_app as create_planner_app
from planner.service_layer.apply import Applied, apply_event
from planner.webhooks.store import SqlAlchemyWebhookStore
from tests.keys import KEYS
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.config import Settings
from traininglog.entrypoints.http import create_app as create_traininglog_app


class IdleRebuildJob:
    def start(self) -> bool:
        return False

    def status(self) -> dict[str, Any]:
        return {"state": "idle"}


def traininglog_app(engine: Engine, settings: Settings | None = None) -> Flask:
    return create_traininglog_app(
        settings or Settings(),
        unit_of_work=lambda: SqlAlchemyUnitOfWork(engine, keys_for(engine)),
        reader=SqlAlchemyEventReader(engine, keys_for(engine)),
        readiness_checks={"database": lambda: True},
        registry=lambda: KEYS.registry,
    )


def planner_app(engine: Engine, page_links: PageLinks | None = None) -> Flask:
    return create_planner_app(
        reader=SqlAlchemyPlannerReader(engine),
        readiness_checks={"database": lambda: True},
        rebuild_job=IdleRebuildJob(),  # type: ignore[arg-type]
        rebuild_user=lambda user_id: (0, None),
        registry=lambda: KEYS.registry,
        webhooks=SqlAlchemyWebhookStore(engine),
        page_links=page_links,
    )


def as_client(app: Flask, client_id: str | None) -> FlaskClient:
    client = app.test_client()
    if client_id is not None:
        client.environ_base["HTTP_AUTHORIZATION"] = KEYS.header(client_id)["Authorization"]
    return client


def feed_after(app: Flask, position: int) -> list[dict]:
    """The feed after a position (the database holds other tests' events before it)."""
    answer = as_client(app, "ops").get(f"/v1/feed?after={position}&limit=1000").get_json()
    return answer["events"]  # type: ignore[no-any-return]


def head(app: Flask) -> int:
    return as_client(app, "ops").get("/v1/feed?after=0&limit=1").get_json()["head"]  # type: ignore[no-any-return]


def apply_all(engine: Engine, envelopes: list[dict]) -> list[Applied]:
    """What the planner's consumer does with what traininglog publishes."""
    return [apply_event(lambda: PlannerUnitOfWork(engine), e).outcome for e in envelopes]
