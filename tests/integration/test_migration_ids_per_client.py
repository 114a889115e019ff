"""Migrating a store written by the previous revisions (traininglog 0003, planner 0004) to ids
per client loses no stream: every event keeps its version and position, the unsent outbox row
stays, each row gets its owner; afterwards another client may take the same user id."""

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

import planner
import traininglog
from backtrack_shared.contracts import NewEventSchema, canonical_body
from backtrack_shared.db import create_database_engine, upgrade_to_head
from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyPlannerReader, SqlAlchemyUnitOfWork
from planner.service_layer.apply import Applied, apply_event
from tests.factories import baseline, new_user_id, pain
from tests.support.envelopes import stored
from tests.support.resources import own_database
from traininglog.adapters.event_store import SqlAlchemyEventReader
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork as LogUnitOfWork
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.outbox import SqlAlchemyEventOutbox
from traininglog.adapters.sealing import new_data_key, seal
from traininglog.bootstrap import migrate as migrate_traininglog
from traininglog.domain.append import Outcome, Writer
from traininglog.service_layer.ingest import record_events

pytestmark = pytest.mark.integration

LOG_MIGRATIONS = Path(traininglog.__file__).parent / "migrations"
PLANNER_MIGRATIONS = Path(planner.__file__).parent / "migrations"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def upgrade(engine: Engine, migrations: Path, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgres"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database at the revisions before ids per client."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'old.db'}"])
        context = None
    else:
        context = own_database(request.getfixturevalue("postgres_url"), "migration")
        urls = iter([context.__enter__()])
    engine = create_database_engine(next(urls))
    upgrade(engine, LOG_MIGRATIONS, "0003")
    upgrade(engine, PLANNER_MIGRATIONS, "0004")
    yield engine
    engine.dispose()
    if context is not None:
        context.__exit__(None, None, None)


def write_old_traininglog(engine: Engine, user: str, tenant: str) -> list[dict]:
    """What revision 0003's code wrote: a user row, sealed events, an unsent outbox row and a
    grant."""
    key = new_data_key()
    documents = [baseline(user), pain(user, score=2)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (user_id, tenant, data_key, created_at) VALUES (:u, :t, :k, :c)"
            ),
            {"u": user, "t": tenant, "k": key, "c": NOW},
        )
        head = connection.execute(text("SELECT MAX(position) FROM events")).scalar() or 0
        for version, document in enumerate(documents, start=1):
            loaded = NewEventSchema().load(document)
            body = canonical_body(loaded)
            connection.execute(
                text(
                    "INSERT INTO events (position, event_id, user_id, stream_version, type, "
                    "schema_version, occurred_at, recorded_at, body_hash, body) VALUES "
                    "(:p, :e, :u, :v, :ty, 1, :o, :r, :h, :b)"
                ),
                {
                    "p": head + version,
                    "e": document["event_id"],
                    "u": user,
                    "v": version,
                    "ty": document["type"],
                    "o": loaded["occurred_at"],
                    "r": NOW,
                    "h": hashlib.sha256(body.encode()).hexdigest(),
                    "b": seal(key, document["event_id"], body),
                },
            )
        connection.execute(text("INSERT INTO event_outbox (position) VALUES (:p)"), {"p": head + 2})
        connection.execute(
            text("INSERT INTO user_grants (user_id, client_id) VALUES (:u, 'globex')"),
            {"u": user},
        )
    return documents


def test_both_stores_migrate_without_losing_a_stream(old_store: Engine, tmp_path: Path):
    engine, user, erased = old_store, new_user_id(), new_user_id()
    # traininglog migrates with its key database (the keys move there, 0005_data_keys_apart).
    keys = SqlAlchemyKeyStore(create_database_engine(f"sqlite:///{tmp_path / 'keys.db'}"))
    documents = write_old_traininglog(engine, user, "acme")
    # The planner at 0004: applied events, a version, the user's tenant, a grant, an erasure.
    envelopes = [
        stored(document, stream_version=version, position=version)
        for version, document in enumerate(documents, start=1)
    ]
    erased_late = stored(baseline(erased), stream_version=1, position=1)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO planner_user_tenants (user_id, tenant) VALUES (:u, 'acme')"),
            {"u": user},
        )
        for envelope in envelopes:
            connection.execute(
                text(
                    "INSERT INTO planner_events (event_id, user_id, occurred_at, stream_version,"
                    " position, body) VALUES (:e, :u, :o, :v, :p, :b)"
                ),
                {
                    "e": envelope["event_id"],
                    "u": user,
                    "o": datetime.fromisoformat(envelope["occurred_at"]),
                    "v": envelope["stream_version"],
                    "p": envelope["position"],
                    "b": json.dumps(envelope),
                },
            )
        connection.execute(
            text(
                "INSERT INTO planner_users (user_id, applied_position, routine_version) "
                "VALUES (:u, 2, 1)"
            ),
            {"u": user},
        )
        connection.execute(
            text(
                "INSERT INTO planner_routine_versions (user_id, version, rules_version, as_of, "
                "applied_position, caused_by, changes, routine) VALUES "
                "(:u, 1, 'r', :a, 1, :c, '[]', '{\"status\": \"active\"}')"
            ),
            {"u": user, "a": NOW, "c": json.dumps([envelopes[0]["event_id"]])},
        )
        connection.execute(
            text(
                "INSERT INTO planner_user_grants (user_id, client_id, granted, position) "
                "VALUES (:u, 'globex', true, 3)"
            ),
            {"u": user},
        )
        connection.execute(
            text("INSERT INTO planner_erasures (user_id, position, erased_at) VALUES (:u, 9, :a)"),
            {"u": erased, "a": NOW},
        )

    migrate_traininglog(engine, keys)
    upgrade_to_head(engine, PLANNER_MIGRATIONS)

    acme_user = UserKey("acme", user)
    reader = SqlAlchemyEventReader(engine, keys)
    stream = reader.stream(acme_user, 0, 10)
    assert [(e["event_id"], e["stream_version"], e["position"]) for e in stream] == [
        (d["event_id"], v, p) for (v, p), d in zip([(1, 1), (2, 2)], documents, strict=True)
    ]
    assert {e["tenant"] for e in stream} == {"acme"}
    assert stream[1]["payload"]["score"] == 2  # still opened by the user's key
    owner = reader.owner(acme_user)
    assert owner is not None and owner.grantees == frozenset({"globex"})
    (pending,) = SqlAlchemyEventOutbox(engine, keys).pending(10)
    assert pending.outbox_id == 2 and pending.message.headers["tenant"] == "acme"

    def unit_of_work() -> LogUnitOfWork:
        return LogUnitOfWork(engine, keys)

    again = NewEventSchema().load(documents[0])
    (retry,) = record_events(unit_of_work, [again], Writer("acme"))
    assert (retry.outcome, retry.position) == (Outcome.DUPLICATE, 1)
    theirs = NewEventSchema().load(baseline(user) | {"event_id": documents[0]["event_id"]})
    (other,) = record_events(unit_of_work, [theirs], Writer("globex"))
    assert (other.outcome, other.stream_version) == (Outcome.STORED, 1)  # its own user now

    plan = SqlAlchemyPlannerReader(engine)
    current = plan.current(acme_user)
    assert current is not None and current[0].applied_position == 2
    assert [v.caused_by for v in plan.history(acme_user)] == [[envelopes[0]["event_id"]]]
    assert [e.event_id for e in plan.events(acme_user)] == [e["event_id"] for e in envelopes]
    assert plan.access(acme_user) == ("acme", frozenset({"globex"}))
    assert plan.access(UserKey("globex", user)) is None

    def planner_uow() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    # An erasure from before names no tenant: it still drops its user's late events, and not
    # the events of another client's user of that id written after it.
    assert apply_event(planner_uow, erased_late).outcome is Applied.DROPPED
    newcomer = stored(baseline(erased), stream_version=1, position=10, tenant="globex")
    assert apply_event(planner_uow, newcomer).outcome is Applied.ROUTINE_CHANGED
    assert apply_event(planner_uow, envelopes[1]).outcome is Applied.DUPLICATE
