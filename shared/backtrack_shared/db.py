"""SQLAlchemy engines and Alembic migrations, the same way for both services.

SQLite is the embedded default; PostgreSQL is production. On SQLite, pysqlite's own transaction
handling is switched off so that a writing transaction can start with BEGIN IMMEDIATE: it takes
the write lock up front, so "read then write" inside one transaction is serialized.
"""

from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

WRITE = {"backtrack_write": True}


def create_database_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("backtrack_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def is_postgresql(connection: Connection | Engine) -> bool:
    return connection.dialect.name == "postgresql"


def is_transient_database_error(err: BaseException) -> bool:
    """The database did not answer (down, restarting, connection lost, pool exhausted, lock or
    serialization trouble): the same work may succeed later, unlike a constraint or SQL error."""
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, OperationalError | InterfaceError | PoolTimeoutError)


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def run_migrations(metadata: MetaData, *, version_table: str, lock_key: int) -> None:
    """The body of a service's Alembic env.py: migrate on the connection upgrade_to_head hands
    over. On PostgreSQL, instances starting together take turns on an advisory lock."""
    connection = context.config.attributes["connection"]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()


def upgrade_to_head(engine: Engine, migrations_dir: Path) -> None:
    """Apply the service's Alembic migrations; each service keeps its own version table."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def as_utc(value: datetime) -> datetime:
    """Everything is stored in UTC; SQLite hands datetimes back naive."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class UnitOfWork:
    """One writing transaction, rolled back on leaving unless commit() was called.

    Subclasses attach their repositories to the connection in `_attach`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _attach(self, connection: Connection) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._connection = self._engine.connect().execution_options(**WRITE)
        self._transaction = self._connection.begin()
        self._attach(self._connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        self._connection.close()

    def commit(self) -> None:
        self._transaction.commit()
