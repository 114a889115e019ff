import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import planner
import traininglog
from backtrack_shared.db import create_database_engine, upgrade_to_head
from tests.conftest import own_database
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.bootstrap import KEY_MIGRATIONS

# Both services' tables in one database: they never share a table, nor an Alembic version table.
MIGRATIONS = [Path(package.__file__).parent / "migrations" for package in (traininglog, planner)]


def migrated(url: str) -> Engine:
    engine = create_database_engine(url)
    for migrations in MIGRATIONS:
        upgrade_to_head(engine, migrations)
    return engine


# traininglog's data keys live in a database of their own, beside each test database.
_KEY_STORES: dict[int, SqlAlchemyKeyStore] = {}


def keys_for(engine: Engine) -> SqlAlchemyKeyStore:
    """The key store that goes with a test database (`engine`, `sqlite_engine`...)."""
    return _KEY_STORES[id(engine)]


@contextlib.contextmanager
def with_key_store(engine: Engine, keys_url: str) -> Iterator[SqlAlchemyKeyStore]:
    keys = SqlAlchemyKeyStore(create_database_engine(keys_url))
    upgrade_to_head(keys.engine, KEY_MIGRATIONS)
    _KEY_STORES[id(engine)] = keys
    try:
        yield keys
    finally:
        del _KEY_STORES[id(engine)]
        keys.engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of the run's own: whatever an earlier run left in the server (rows, or
    migrations of another checkout) cannot change what this run sees."""
    with (
        own_database(postgres_url, "integration") as url,
        own_database(postgres_url, "integration_keys") as keys_url,
    ):
        engine = migrated(url)
        with with_key_store(engine, keys_url):
            yield engine
        engine.dispose()


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
