"""Migrated test databases of both services, and the key store that goes with each."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

import planner
import traininglog
from backtrack_shared.db import create_database_engine, upgrade_to_head
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
