"""What the figures run on: bench databases of their own on PostgreSQL (or SQLite files), throwaway
broker namespaces, the services (or bare servers) as processes, and the API keys they check."""

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pika
import psycopg
from sqlalchemy import Engine, delete, insert, text
from sqlalchemy.engine import make_url

from backtrack_shared.auth import (
    ADMIN,
    AUDIT_READ,
    CLINICAL_WRITE,
    EVENTS_WRITE,
    ROUTINE_READ,
    Client,
    Registry,
    clients_file,
    issue_key,
)
from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine
from bench.workload import TENANT, Workload
from tests.support import processes
from tests.support.processes import Service
from tests.support.resources import delete_topology

if TYPE_CHECKING:
    from traininglog.adapters.key_store import SqlAlchemyKeyStore

POSTGRES_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
ROOT = Path(__file__).resolve().parents[1]
# High enough never to answer 429 to a benchmark: the per-client write limit is not measured.
RATE_LIMIT = "1000000"
# How figure 2's load generators (wrk, bench/loadgen.py) get the key: not on their command line.
API_KEY_ENV = "BENCH_API_KEY"


@dataclass(frozen=True)
class Credentials:
    clients_file: Path  # both services read it (CLIENTS_FILE)
    client_key: (
        str  # the bench's client app (tenant workload.TENANT): writes events, reads routines
    )
    planner_key: str  # the planner's admin key to traininglog's feed

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.client_key}"}


@functools.cache
def credentials() -> Credentials:
    """Keys issued once per benchmark run, in a clients file of a temporary folder of their own
    (deleted at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    atexit.register(shutil.rmtree, folder, True)
    created_at = "2026-01-01T00:00:00+00:00"
    # The scenarios hold clinicians' clearances, and only a clinical client may send them.
    client_key, client_record = issue_key(
        TENANT, [EVENTS_WRITE, CLINICAL_WRITE, ROUTINE_READ, AUDIT_READ], created_at
    )
    planner_key, planner_record = issue_key("planner", [ADMIN], created_at)
    registry = Registry(
        [Client(TENANT, "the benchmark's client app"), Client("planner", "the planner")],
        [client_record, planner_record],
    )
    path = folder / "clients.json"
    clients_file.save(path, registry)
    return Credentials(path, client_key, planner_key)


def _admin_dsn() -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def keys_url(database_url: str) -> str:
    """Where traininglog keeps its data keys beside a bench database: a database of their own
    (made by `postgres_database`), or a SQLite file beside the store's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}-keys.db"
    return url.set(database=f"{url.database}_keys").render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A PostgreSQL database of its own (and one for traininglog's keys, see `keys_url`),
    dropped afterwards; yields its SQLAlchemy URL."""
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        connection.execute(f'CREATE DATABASE "{name}_keys"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'DROP DATABASE IF EXISTS "{name}_keys" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database(label: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix=f"bench_{label}_") as folder:
        yield f"sqlite:///{folder}/{label}.db"


@contextlib.contextmanager
def database(backend: str, label: str) -> Iterator[str]:
    opener = postgres_database if backend == "postgresql" else sqlite_database
    with opener(label) as url:
        yield url


_KEY_STORES: dict[int, "SqlAlchemyKeyStore"] = {}


def keys_of(engine: Engine) -> "SqlAlchemyKeyStore":
    """The key store beside a store made by `traininglog_engine`."""
    return _KEY_STORES[id(engine)]


@contextlib.contextmanager
def traininglog_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated traininglog store, made the way the service makes it (its key
    store: `keys_of`)."""
    from traininglog.adapters.key_store import SqlAlchemyKeyStore
    from traininglog.bootstrap import migrate

    engine = create_database_engine(database_url)
    keys = SqlAlchemyKeyStore(create_database_engine(keys_url(database_url)))
    migrate(engine, keys)
    _KEY_STORES[id(engine)] = keys
    try:
        yield engine
    finally:
        del _KEY_STORES[id(engine)]
        engine.dispose()
        keys.engine.dispose()


@contextlib.contextmanager
def planner_engine(database_url: str) -> Iterator[Engine]:
    from planner.bootstrap import migrate

    engine = create_database_engine(database_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def empty_event_store(engine: Engine) -> None:
    """Back to no events and no users, and on PostgreSQL positions from 1 again."""
    from traininglog.adapters.key_store import data_keys
    from traininglog.adapters.tables import event_outbox, events, users

    with keys_of(engine).engine.begin() as connection:
        connection.execute(delete(data_keys))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("TRUNCATE event_outbox, events, users RESTART IDENTITY"))
        else:
            connection.execute(delete(event_outbox))
            connection.execute(delete(events))  # a rowid key: numbering restarts at 1
            connection.execute(delete(users))


def insert_rows(engine: Engine, load: Workload, *, outbox: bool, chunk: int = 5000) -> None:
    """Prefill the store with a workload's users and events the fastest plain way (not timed):
    Core executemany, in chunks. The users' rows name the keys the bodies are sealed with (in
    the key store); the feed and the relay read only events with a user's row."""
    from traininglog.adapters.tables import event_outbox, events, users

    keys_of(engine).add(load.keys())
    with engine.begin() as connection:
        connection.execute(insert(users), load.user_rows())
    rows = list(load.rows())
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        with engine.begin() as connection:
            connection.execute(insert(events), part)
            if outbox:
                connection.execute(
                    insert(event_outbox), [{"position": row["position"]} for row in part]
                )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text("SELECT setval('events_position_seq', (SELECT max(position) FROM events))")
            )
            connection.execute(text("ANALYZE events"))
            connection.execute(text("ANALYZE users"))


@contextlib.contextmanager
def throwaway_topology(label: str) -> Iterator[Topology]:
    """A broker namespace of its own, declared, and deleted afterwards."""
    topology = Topology(namespace=f"bench-{label}-{uuid.uuid4().hex[:8]}")
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        topology.declare(connection.channel())
    finally:
        connection.close()
    try:
        yield topology
    finally:
        delete_topology(AMQP_URL, topology)


def purge_planner_queue(topology: Topology) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for queue in topology.partition_queues:
            channel.queue_purge(queue)
    finally:
        connection.close()


def start(
    name: str, argv: Sequence[str], *, port: int, environ: dict[str, str], log_dir: Path
) -> Service:
    """`python ARGV...` with `environ` over this process's environment, not waited for."""
    return processes.start(name, {**os.environ, **environ}, port, log_dir, argv=argv)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    environ: dict[str, str],
    log_dir: Path,
    ready_path: str = "/readyz",
) -> Iterator[Service]:
    """`python ARGV...` with `environ` over this process's environment, ready, stopped after."""
    with processes.running(
        name, {**os.environ, **environ}, port, log_dir, argv=argv, ready_path=ready_path
    ) as service:
        yield service


def service_environ(database_url: str, topology: Topology, **ports: int) -> dict[str, str]:
    """The environment both services read, as tests/e2e/conftest.py gives it them: the clients
    file with the bench's keys, the planner's key to the feed, and a write rate limit so high
    that it never answers 429."""
    keys = credentials()
    environ = {
        "DATABASE_URL": database_url,
        "TRAININGLOG_KEYS_DATABASE_URL": keys_url(database_url),
        "AMQP_URL": AMQP_URL,
        "BROKER_NAMESPACE": topology.namespace,
        "LOG_LEVEL": "INFO",
        "CLIENTS_FILE": str(keys.clients_file),
        "PLANNER_TRAININGLOG_API_KEY": keys.planner_key,
        "TRAININGLOG_RATE_LIMIT_EVENTS_PER_S": RATE_LIMIT,
        "TRAININGLOG_RATE_LIMIT_BURST": RATE_LIMIT,
    }
    if "traininglog" in ports:
        environ["TRAININGLOG_PORT"] = str(ports["traininglog"])
        environ["PLANNER_TRAININGLOG_URL"] = f"http://127.0.0.1:{ports['traininglog']}"
    if "planner" in ports:
        environ["PLANNER_PORT"] = str(ports["planner"])
    return environ
