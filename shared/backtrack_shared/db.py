"""SQLAlchemy engines and Alembic migrations, the same way for both services.

SQLite is the embedded default; PostgreSQL is production. On SQLite, pysqlite's own transaction
handling is switched off so that a writing transaction can start with BEGIN IMMEDIATE: it takes
the write lock up front, so "read then write" inside one transaction is serialized.

Deleted rows must not stay readable in the files (erasure, DESIGN.md "Trust boundaries"): SQLite
runs with `secure_delete` (deleted content is overwritten with zeros, free pages included) and
its files are the owner's only; `scrub` then leaves no older copy of a page in the write-ahead
log (SQLite) or no dead row in the table (PostgreSQL).
"""

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence
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


def create_database_engine(database_url: str, *, pre_ping: bool = True) -> Engine:
    """With `pre_ping`, each PostgreSQL connection taken from the pool is tried first (one round
    trip): a connection the server dropped is replaced instead of failing its user. A caller
    that retries work failing on a dropped connection (`is_dropped_connection`) can spare it."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=pre_ping, pool_size=10, max_overflow=10)
    if url.database and url.database != ":memory:":
        owner_only(Path(url.database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("backtrack_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def one_statement(engine: Engine) -> Connection:
    """A connection for statements each whole on its own (a read, or a write atomic by itself):
    on PostgreSQL in autocommit, which spares the round trips of BEGIN and of the ROLLBACK or
    COMMIT around each use (in the relay, 3 of its 4 per batch of deletes); SQLite keeps its
    own transactions (BEGIN IMMEDIATE for writers)."""
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def owner_only(database: Path) -> None:
    """Create the SQLite file readable and writable by its owner only (an empty file is an empty
    database), and tighten one made before: SQLite gives its -wal and -shm files the mode of
    the database file."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_CREAT | os.O_RDONLY, 0o600))
    for path in (database, *(database.with_name(database.name + s) for s in SQLITE_COMPANIONS)):
        # Another user's file is theirs to mode (and SQLite's to refuse, if it must).
        if path.exists() and path.stat().st_uid == os.getuid():
            path.chmod(0o600)


class ScrubIncomplete(Exception):
    """Readers or writers kept the deleted rows from being removed from the files: try again
    later."""


def scrub(
    engine: Engine, tables: Sequence[str], *, rewrite: bool = False, attempts: int = 8
) -> None:
    """Leave no copy of rows deleted from `tables` readable in the database's files.

    SQLite (under `secure_delete`, the pages already hold zeros): checkpoint the write-ahead log
    into the database and truncate it, so no older frame keeps the rows. PostgreSQL: VACUUM the
    tables, so no dead row version keeps them; with `rewrite`, VACUUM FULL writes the table to
    a new file and drops the old one (for small tables such as the data keys)."""
    if engine.dialect.name == "sqlite":
        _checkpoint_truncate(engine)
    elif engine.dialect.name == "postgresql":
        _vacuum_until_removed(engine, tables, rewrite=rewrite, attempts=attempts)


# What VACUUM VERBOSE says of dead rows it had to keep (PostgreSQL 13-16 word it either way).
_KEPT_DEAD = re.compile(
    r"(\d+) (?:dead row versions cannot be removed yet|are dead but not yet removable)"
)


def _vacuum_until_removed(
    engine: Engine, tables: Sequence[str], *, rewrite: bool, attempts: int
) -> None:
    """VACUUM keeps a deleted row while any transaction that might still see it runs (even a
    connection being opened elsewhere on the server holds the horizon back for a moment): vacuum
    again until it says it removed every dead row, or give up saying so."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        driver = connection.connection.driver_connection
        notices: list[str] = []
        driver.add_notice_handler(  # type: ignore[union-attr]
            lambda diag: notices.append(f"{diag.message_primary} {diag.message_detail or ''}")
        )
        for table in tables:
            quoted = connection.dialect.identifier_preparer.quote(table)
            for attempt in range(attempts):
                notices.clear()
                connection.exec_driver_sql(
                    f"VACUUM ({'FULL, ' if rewrite else ''}VERBOSE) {quoted}"
                )
                kept = sum(int(n) for note in notices for n in _KEPT_DEAD.findall(note))
                if kept == 0:
                    break
                time.sleep(0.25 * (attempt + 1))
            else:
                raise ScrubIncomplete(f"{table}: {kept} deleted row versions are still in its file")


def _checkpoint_truncate(engine: Engine, attempts: int = 5) -> None:
    # On a raw connection: pysqlite's own transactions are off, so no BEGIN wraps the pragma.
    for attempt in range(attempts):
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            busy, _log_frames, _checkpointed = cursor.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).fetchone()
            cursor.close()
        finally:
            connection.close()
        if not busy:
            return
        time.sleep(0.2 * (attempt + 1))
    raise ScrubIncomplete("the SQLite write-ahead log stayed in use; it was not truncated")


@contextlib.contextmanager
def one_at_a_time(engine: Engine, lock_key: int) -> Iterator[None]:
    """Processes sharing a PostgreSQL database take turns on `lock_key` for as long as this
    holds (an advisory lock of a transaction of its own, released however it ends, the process
    dying included). On SQLite, where one process of a service runs, nothing is held."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        yield


def is_postgresql(connection: Connection | Engine) -> bool:
    return connection.dialect.name == "postgresql"


def is_transient_database_error(err: BaseException) -> bool:
    """The database did not answer (down, restarting, connection lost, pool exhausted, lock or
    serialization trouble): the same work may succeed later, unlike a constraint or SQL error."""
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, OperationalError | InterfaceError | PoolTimeoutError)


def is_dropped_connection(err: BaseException) -> bool:
    """The connection failed under the statement (the server restarted, or ended it): the pool
    has let go of it and of every connection opened before it, so the same work may be tried
    again at once on a new one."""
    return isinstance(err, DBAPIError) and err.connection_invalidated


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


@contextlib.contextmanager
def _migration_turn(engine: Engine) -> Iterator[None]:
    """On a SQLite file, processes starting together (`make run`: the planner and its webhook
    dispatcher) take turns on a lock file beside it, as PostgreSQL's take turns on an advisory
    lock (run_migrations): else one fails on "database is locked"."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    handle = os.open(f"{path}.migrating", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def upgrade_to_head(
    engine: Engine, migrations_dir: Path, attributes: dict[str, Any] | None = None
) -> None:
    """Apply the service's Alembic migrations; each service keeps its own version table.
    `attributes` reach the migrations (`context.config.attributes`), and what they leave there
    reaches the caller."""
    config = Config(attributes=attributes)
    config.set_main_option("script_location", str(migrations_dir))
    with _migration_turn(engine), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if attributes is not None:
        attributes.update(config.attributes)
        attributes.pop("connection")


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
