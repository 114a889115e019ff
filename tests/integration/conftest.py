from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.factories import baseline, new_user_id, workout
from tests.support.apps import apply_all, as_client, feed_after, head, planner_app, traininglog_app
from tests.support.stores import migrated, migrated_database_of_its_own, with_key_store


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of the run's own: whatever an earlier run left in the server (rows, or
    migrations of another checkout) cannot change what this run sees."""
    with migrated_database_of_its_own(postgres_url, "integration") as engine:
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated(f"sqlite:///{tmp_path / 'backtrack.db'}")
    with with_key_store(engine, f"sqlite:///{tmp_path / 'keys.db'}"):
        yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every test using this runs on both backends: one contract, two stores."""
    return request.getfixturevalue(f"{request.param}_engine")  # type: ignore[no-any-return]


@pytest.fixture
def free_tcp_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def log(engine: Engine) -> Flask:
    return traininglog_app(engine)


@pytest.fixture
def plan(engine: Engine) -> Flask:
    return planner_app(engine)


@pytest.fixture
def acme_user(engine: Engine, log: Flask) -> str:
    """A user of ACME's with a baseline and a workout, applied by the planner."""
    user, before = new_user_id(), head(log)
    acme = as_client(log, "acme")
    for document in (baseline(user), workout(user)):
        assert acme.post("/v1/events", json=document).status_code == 201
    apply_all(engine, feed_after(log, before))
    return user
