"""Migrated test databases of both services, and the key store that goes with each."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

import planner
import traininglog
from backtrack_shared.db import create_database_engine, upgrade_to_head
from tests.support.resources import own_database
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


@contextlib.contextmanager
def migrated_database_of_its_own(postgres_url: str, prefix: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database beside `postgres_url`'s, with its key store, dropped after:
    whatever another test left in a shared one cannot change what the caller sees."""
    with (
        own_database(postgres_url, prefix) as url,
        own_database(postgres_url, f"{prefix}_keys") as keys_url,
    ):
        engine = migrated(url)
        with with_key_store(engine, keys_url):
            yield engine
        engine.dispose()
