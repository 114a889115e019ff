"""Erasure that erases (DESIGN.md "Trust boundaries"), piece by piece on real databases (SQLite
files on disk, PostgreSQL) and the real broker: the data keys live in a key database of their
own, existing stores move theirs there and still open every body, an erased user's key row is
deleted and no copy stays in the key database's files, the planner purges the user's dead
letters and scrubs its files, and every SQLite and key file is its owner's only.

tests/e2e/test_erasure_on_disk.py runs the whole of it through both services as processes."""

import contextlib
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select, text

from backtrack_shared.auth.cli import development_keys
from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.topology import Topology
from backtrack_shared.contracts import NewEventSchema
from backtrack_shared.contracts.registry import USER_ERASED
from backtrack_shared.db import ScrubIncomplete, create_database_engine, scrub
from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyUnitOfWork as PlannerUnitOfWork
from planner.adapters.tables import USER_DATA_TABLES, planner_erasures
from planner.service_layer.apply import Applied, apply_event
from planner.service_layer.erasure_scrub import ErasureScrub
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.resources import own_database
from tests.support.stores import keys_for
from tests.support.waiting import wait_until
from tests.traces import files_holding, loose_modes
from traininglog.adapters.event_store import SqlAlchemyEventReader, SqlAlchemyUnitOfWork
from traininglog.adapters.key_cache import KeyCache
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.sealing import new_data_key, seal
from traininglog.adapters.tables import users
from traininglog.bootstrap import MIGRATIONS, listen_dsn, migrate
from traininglog.domain.append import Writer
from traininglog.service_layer.ingest import new_event, record_events
from traininglog.service_layer.users import erase_user

pytestmark = pytest.mark.integration

WORDS = f"quixotic-zebra-{uuid.uuid4().hex[:12]}"


def record(engine: Engine, *documents: dict) -> None:
    loaded = [NewEventSchema().load(document) for document in documents]
    record_events(lambda: SqlAlchemyUnitOfWork(engine, keys_for(engine)), loaded, Writer("acme"))


def key_of(engine: Engine, user_id: str) -> tuple[str, bytes]:
    """The id and bytes of the data key of ACME's user."""
    with engine.connect() as connection:
        key_id = connection.execute(
            select(users.c.key_id).where(users.c.tenant == "acme", users.c.user_id == user_id)
        ).scalar_one()
    return key_id, keys_for(engine).get([key_id])[key_id]


def postgres_file_of(engine: Engine, table: str) -> Path | None:
    """The file PostgreSQL keeps the table in, once written out (None where it cannot be read:
    a server in a container, or not run by the same user)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("CHECKPOINT"))
        data = connection.execute(text("SHOW data_directory")).scalar_one()
        relative = connection.execute(text(f"SELECT pg_relation_filepath('{table}')")).scalar_one()
    path = Path(data) / relative
    return path if os.access(path, os.R_OK) else None


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def test_sqlite_files_and_key_files_are_their_owners_only(tmp_path: Path):
    with umask(0o022):  # the usual one, which makes files anyone may read
        engine = create_database_engine(f"sqlite:///{tmp_path / 'data' / 'new.db'}")
        with engine.begin() as connection:  # a write: the -wal and -shm files exist now
            connection.execute(text("CREATE TABLE t (x TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('x')"))
        (tmp_path / "data" / "old.db").touch(mode=0o644)  # made before files were tightened
        old = create_database_engine(f"sqlite:///{tmp_path / 'data' / 'old.db'}")
        with old.connect() as connection:
            connection.execute(text("SELECT 1"))
        (tmp_path / "data" / "planner-api-key").touch(mode=0o644)
        development_keys(tmp_path / "data" / "clients.json", tmp_path / "data")
    names = {path.name for path in (tmp_path / "data").iterdir()}
    assert {"new.db", "new.db-wal", "new.db-shm", "old.db", "dev-api-key"} <= names
    assert {"planner-api-key", "clients.json"} <= names
    assert loose_modes(tmp_path / "data") == []
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    engine.dispose()
    old.dispose()


# The event store as revision 0004_ids_per_client left it: each user's key in their row.
OLD_USERS = sa.table(
    "users",
    sa.column("user_id", sa.String),
    sa.column("tenant", sa.String),
    sa.column("data_key", sa.LargeBinary),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("erased_at", sa.DateTime(timezone=True)),
)
OLD_EVENTS = sa.table(
    "events",
    *(
        sa.column(name)
        for name in [
            "tenant",
            "position",
            "event_id",
            "user_id",
            "stream_version",
            "type",
            "schema_version",
            "occurred_at",
            "recorded_at",
            "body_hash",
            "body",
        ]
    ),
)


@contextlib.contextmanager
def stores(kind: str, tmp_path: Path, postgres_url: str) -> Iterator[tuple[str, str]]:
    """An empty event store and key database of this test's own: (url, keys url)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'traininglog.db'}", f"sqlite:///{tmp_path / 'keys.db'}"
        return
    with own_database(postgres_url, "old") as url, own_database(postgres_url, "keys") as keys:
        yield url, keys


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_existing_store_moves_its_keys_out_and_every_body_still_opens(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
):
    postgres_url = request.getfixturevalue("postgres_url") if kind == "postgres" else ""
    with stores(kind, tmp_path, postgres_url) as (url, keys_url):
        engine = create_database_engine(url)
        keys = SqlAlchemyKeyStore(create_database_engine(keys_url))
        try:
            _move_keys_out(engine, keys, kind, tmp_path)
        finally:
            engine.dispose()
            keys.engine.dispose()


def _move_keys_out(engine: Engine, keys: SqlAlchemyKeyStore, kind: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:  # the store as it stood before keys moved out
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_ids_per_client")
    kept, erased = new_user_id(), new_user_id()
    key = new_data_key()
    documents = [baseline(kept), pain(kept, score=3, location=WORDS), baseline(erased)]
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(OLD_USERS),
            [
                {
                    "user_id": kept,
                    "tenant": "acme",
                    "data_key": key,
                    "created_at": now,
                    "erased_at": None,
                },
                {
                    "user_id": erased,
                    "tenant": "acme",
                    "data_key": None,
                    "created_at": now,
                    "erased_at": now,
                },
            ],
        )
        for position, document in enumerate(documents, start=1):
            event = new_event(NewEventSchema().load(document), "acme")
            body = seal(
                key if event.user_id == kept else new_data_key(), event.event_id, event.body
            )
            connection.execute(
                sa.insert(OLD_EVENTS).values(
                    tenant="acme",
                    position=position,
                    event_id=event.event_id,
                    user_id=event.user_id,
                    stream_version=1 if position != 2 else 2,
                    type=event.type,
                    schema_version=1,
                    occurred_at=event.occurred_at,
                    recorded_at=now,
                    body_hash=event.body_hash,
                    body=body,
                )
            )

    migrate(engine, keys)
    migrate(engine, keys)  # again: nothing moves twice

    stream = SqlAlchemyEventReader(engine, keys).stream(UserKey("acme", kept), 0, 10)
    assert [e["event_id"] for e in stream] == [d["event_id"] for d in documents[:2]]
    assert stream[1]["payload"]["location"] == WORDS
    with engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("users")}
        key_ids = dict(
            connection.execute(
                select(users.c.user_id, users.c.key_id).where(users.c.tenant == "acme")
            ).all()
        )
    assert "data_key" not in columns
    assert key_ids[erased] is None
    assert keys.get([key_ids[kept]]) == {key_ids[kept]: key}
    # No copy of the key stays in the event store's files.
    if kind == "sqlite":
        holding = files_holding(tmp_path, [key])
        assert holding and all(place.startswith("keys.db") for place in holding), holding
    else:
        path = postgres_file_of(engine, "users")
        if path is not None:
            assert key not in path.read_bytes()


def test_an_erasure_deletes_the_key_row_and_leaves_no_copy_in_the_key_database(
    engine: Engine, tmp_path: Path
):
    user, kept = new_user_id(), new_user_id()
    record(engine, baseline(user), pain(user, score=4, location=WORDS), baseline(kept))
    key_id, key = key_of(engine, user)
    keys = keys_for(engine)
    postgres = engine.dialect.name == "postgresql"
    before = postgres_file_of(keys.engine, "data_keys") if postgres else None
    if before is not None:
        assert key in before.read_bytes()  # the look below would see it

    def unit_of_work() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine, keys)

    erase_user(unit_of_work, UserKey("acme", user), Writer("ops", every_user=True))
    with keys.engine.connect() as connection:
        rows = connection.execute(text("SELECT key_id FROM data_keys")).scalars().all()
    assert key_id not in rows  # the row is gone, not emptied
    assert key_of(engine, kept)[1]  # the others' keys stay
    if postgres:
        after = postgres_file_of(keys.engine, "data_keys")
        if after is not None:
            assert after != before  # rewritten to a new file
            assert key not in after.read_bytes()
    else:
        assert files_holding(tmp_path, [key]) == []


def test_a_scrub_on_postgresql_waits_out_a_transaction_that_keeps_the_deleted_row(
    postgres_engine: Engine,
):
    """VACUUM leaves a deleted row in the file while any transaction might still see it: the
    scrub must not call that done (it retries, and says so if the row stays)."""
    keys = keys_for(postgres_engine)
    key_id, key = str(uuid.uuid4()), new_data_key()  # a key no stored event is sealed with
    keys.add({key_id: key})
    with keys.engine.connect() as holder:  # a snapshot older than the delete, on another table
        holder.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        holder.execute(text("SELECT count(*) FROM alembic_version_traininglog_keys"))
        with keys.engine.begin() as connection:
            connection.execute(text("DELETE FROM data_keys WHERE key_id = :k"), {"k": key_id})
        with pytest.raises(ScrubIncomplete):
            scrub(keys.engine, ["data_keys"], rewrite=True, attempts=2)
    scrub(keys.engine, ["data_keys"], rewrite=True)
    path = postgres_file_of(keys.engine, "data_keys")
    if path is not None:
        assert key not in path.read_bytes()


def test_an_erasure_that_stopped_before_deleting_the_key_is_finished_on_start(engine: Engine):
    user = new_user_id()
    record(engine, baseline(user))
    key_id, _ = key_of(engine, user)
    keys = keys_for(engine)
    with SqlAlchemyUnitOfWork(engine, keys) as uow:  # the erasure's first step, then a crash
        uow.events.erase(UserKey("acme", user), datetime.now(UTC))
        uow.commit()
    assert keys.get([key_id])
    migrate(engine, keys)  # what every start does
    assert keys.get([key_id]) == {}


def publish_letter(
    amqp_url: str, topology: Topology, body: bytes, user: str | None, tenant: str = "acme"
) -> str:
    message_id = str(uuid.uuid4())
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        topology.declare(channel)
        channel.confirm_delivery()
        headers = {"user_id": user, "tenant": tenant} if user else {}
        channel.basic_publish(
            topology.dead_letter_exchange,
            "",
            body,
            pika.BasicProperties(message_id=message_id, delivery_mode=2, headers=headers),
        )
    finally:
        connection.close()
    return message_id


def test_purging_a_users_dead_letters_keeps_everyone_elses_in_order(
    amqp_url: str, topology: Topology
):
    erased, other = new_user_id(), new_user_id()
    letters = PikaDeadLetters(amqp_url, topology)
    published = [
        publish_letter(amqp_url, topology, b'{"location": "cut sh', erased),
        publish_letter(amqp_url, topology, b'{"user_id": "%s"}' % other.encode(), other),
        publish_letter(amqp_url, topology, b'{"user_id": "%s"}' % erased.encode(), None),
        publish_letter(amqp_url, topology, b"not json at all", None),
        publish_letter(amqp_url, topology, b"{}", other),
        # Another client's user of the same id: theirs, kept.
        publish_letter(amqp_url, topology, b"{}", erased, tenant="globex"),
    ]
    assert letters.purge_users([UserKey("acme", erased)]) == 2
    assert [x.message_id for x in letters.list()] == [published[i] for i in (1, 3, 4, 5)]
    assert letters.purge_users([UserKey("acme", erased)]) == 0


def test_the_planner_purges_the_dead_letters_and_scrubs_the_files_of_an_erasure(
    engine: Engine, amqp_url: str, topology: Topology, tmp_path: Path
):
    user, kept = new_user_id(), new_user_id()
    reader = SqlAlchemyEventReader(engine, keys_for(engine))
    start = reader.head()
    record(
        engine,
        baseline(user),
        workout(user),
        pain(user, score=7, location=WORDS, red_flags=["saddle_numbness"]),
        baseline(kept),
    )

    def planner_uow() -> PlannerUnitOfWork:
        return PlannerUnitOfWork(engine)

    for envelope in reader.feed(start, 100):
        apply_event(planner_uow, envelope)
    letters = PikaDeadLetters(amqp_url, topology)
    dead = publish_letter(amqp_url, topology, f'{{"location": "{WORDS}"'.encode(), user)
    kept_letter = publish_letter(amqp_url, topology, b"{}", kept)

    marker_at = reader.head()
    erase_user(
        lambda: SqlAlchemyUnitOfWork(engine, keys_for(engine)),
        UserKey("acme", user),
        Writer("ops", every_user=True),
    )
    (marker,) = reader.feed(marker_at, 100)
    assert marker["type"] == USER_ERASED
    assert apply_event(planner_uow, marker).outcome is Applied.ERASED
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert files_holding(tmp_path, [WORDS.encode()])  # the deleted pages, until scrubbed

    scrubbed = ErasureScrub(planner_uow, letters, lambda: scrub(engine, USER_DATA_TABLES))
    assert scrubbed() >= 1  # (on PostgreSQL, other tests' erasures too)
    assert dead not in {x.message_id for x in letters.list()}
    assert kept_letter in {x.message_id for x in letters.list()}
    with engine.connect() as connection:
        noted = connection.execute(
            select(planner_erasures.c.scrubbed_at).where(
                planner_erasures.c.tenant == "acme", planner_erasures.c.user_id == user
            )
        ).scalar_one()
    assert noted is not None
    assert scrubbed() == 0  # nothing left to do
    if sqlite:
        assert files_holding(tmp_path, [WORDS.encode()]) == []


def test_the_key_database_cannot_be_the_event_store():
    from backtrack_shared.settings import SettingsError
    from traininglog.config import Settings

    with pytest.raises(SettingsError, match="KEYS_DATABASE_URL"):
        Settings.from_env(
            {"DATABASE_URL": "sqlite:///x.db", "TRAININGLOG_KEYS_DATABASE_URL": "sqlite:///x.db"}
        )
    settings = Settings.from_env({"BACKTRACK_DATA_DIR": "/srv/bt"})
    assert settings.keys_database_url == "sqlite:////srv/bt/traininglog-keys.db"


def test_an_erasure_makes_every_process_forget_the_key_it_held(postgres_engine: Engine):
    """Two traininglog processes (a key store each, with its listener) have read and kept a
    user's key; erasing the user through one makes the other let go of it as well."""
    engine = postgres_engine
    user = new_user_id()
    record(engine, baseline(user))
    key_id, _ = key_of(engine, user)
    keys_engine = keys_for(engine).engine
    caches = [KeyCache(listen_dsn(keys_engine)) for _ in range(2)]
    stores = [SqlAlchemyKeyStore(keys_engine, cache) for cache in caches]
    threads = [threading.Thread(target=cache.run) for cache in caches]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(cache.listening for cache in caches))
        for store, cache in zip(stores, caches, strict=True):
            assert key_id in store.get([key_id])
            assert key_id in cache.known([key_id])[0]  # held: not read again

        erase_user(
            lambda: SqlAlchemyUnitOfWork(engine, stores[0]),
            UserKey("acme", user),
            Writer("ops", every_user=True),
        )
        assert caches[0].known([key_id])[0] == {}
        wait_until(lambda: caches[1].known([key_id])[0] == {})
        assert stores[1].get([key_id]) == {}
    finally:
        for cache in caches:
            cache.stop()
        for thread in threads:
            thread.join(5)

