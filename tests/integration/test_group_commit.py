"""Concurrent requests gathered into shared append transactions, on SQLite and PostgreSQL:
each is answered as if recorded on its own, and nothing is answered before it is committed."""

import functools
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select, text

from backtrack_shared.contracts import NewEventSchema
from backtrack_shared.db import create_database_engine
from tests.factories import baseline, new_user_id, pain
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.tables import events
from traininglog.domain.append import Outcome, Writer
from traininglog.service_layer.group_commit import GroupCommit, Stopped
from traininglog.service_layer.ingest import Receipt, Request, record_requests

pytestmark = pytest.mark.integration


class CountedAppends:
    """record_requests on the engine, counting transactions and the requests in each."""

    def __init__(self, engine: Engine, keys: SqlAlchemyKeyStore | None = None) -> None:
        self.groups: list[int] = []
        self._record = functools.partial(
            record_requests, lambda: SqlAlchemyUnitOfWork(engine, keys or keys_for(engine))
        )

    def __call__(self, requests: Sequence[Request]) -> list[list[Receipt]]:
        self.groups.append(len(requests))
        return self._record(requests)


@pytest.fixture
def appends(engine: Engine) -> CountedAppends:
    return CountedAppends(engine)


@pytest.fixture
def appender(appends: CountedAppends) -> Iterator[GroupCommit]:
    group = GroupCommit(appends, max_events=50)
    thread = threading.Thread(target=group.run)
    thread.start()
    yield group
    group.stop()
    thread.join(5)


def load(document: dict) -> dict:
    return NewEventSchema().load(document)  # type: ignore[no-any-return]


def test_concurrent_requests_share_transactions_and_each_gets_its_own_answer(
    engine: Engine, appends: CountedAppends, appender: GroupCommit
):
    acme, globex = Writer("acme"), Writer("globex")
    ana, bob = new_user_id(), new_user_id()
    appender.record([load(baseline(bob))], globex)
    requests = [([load(pain(ana, score=i % 4, day=i))], acme) for i in range(64)]
    # globex's user: not acme's to write for, even naming the owner
    requests += [([load(pain(bob, score=1))], Writer("acme", owner="globex"))]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda r: appender.record(*r), requests))

    assert all(len(answer) == 1 for answer in answers)
    mine, theirs = [a[0] for a in answers[:-1]], answers[-1][0]
    assert all(r.outcome is Outcome.STORED for r in mine)
    assert theirs.outcome is Outcome.NOT_FOUND
    assert sorted(r.stream_version for r in mine) == list(range(1, 65))  # gapless, each once
    assert len({r.position for r in mine}) == 64
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                select(events.c.event_id, events.c.position).where(events.c.user_id == ana)
            ).all()
        )
    assert stored == {r.event_id: r.position for r in mine}  # answered as committed
    assert len(appends.groups) < len(requests) + 1  # some requests shared a transaction
    assert max(appends.groups) > 1


def test_a_failed_transaction_answers_every_request_it_held_with_the_error():
    release = threading.Event()
    failures: list[int] = []

    def broken(requests: Sequence[Request]) -> list[list[Receipt]]:
        release.wait(5)
        failures.append(len(requests))
        raise ConnectionError("the database does not answer")

    group = GroupCommit(broken)
    thread = threading.Thread(target=group.run)
    thread.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(group.record, [{}], Writer("acme")) for _ in range(4)]
            release.set()
            errors = [future.exception(5) for future in futures]
        assert all(isinstance(error, ConnectionError) for error in errors)
        assert sum(failures) == 4
    finally:
        group.stop()
        thread.join(5)


def test_a_stopped_appender_refuses_instead_of_hanging():
    group = GroupCommit(lambda requests: [[] for _ in requests])
    group.stop()
    group.run()  # returns at once: stopping
    with pytest.raises(Stopped):
        group.record([{}], Writer("acme"))


def test_a_connection_the_database_dropped_costs_no_request(postgres_engine: Engine):
    """The appender's connections are not pinged before use: a group that meets one that
    PostgreSQL ended is recorded again on a new one, and answered once."""
    url = postgres_engine.url.update_query_dict({"application_name": "dropped-connection-test"})
    engine = create_database_engine(url.render_as_string(hide_password=False), pre_ping=False)
    appends = CountedAppends(engine, keys_for(postgres_engine))
    group = GroupCommit(appends)
    thread = threading.Thread(target=group.run)
    thread.start()
    try:
        ana = new_user_id()
        (first,) = group.record([load(baseline(ana))], Writer("acme"))
        with postgres_engine.connect() as admin:
            ended = admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name = 'dropped-connection-test'"
                )
            ).scalar_one()
        assert ended >= 1  # the appender's idle connection, in the pool
        (second,) = group.record([load(pain(ana, score=2))], Writer("acme"))
    finally:
        group.stop()
        thread.join(5)
        engine.dispose()
    assert (first.outcome, second.outcome) == (Outcome.STORED, Outcome.STORED)
    assert second.stream_version == 2
    assert len(appends.groups) == 3  # the second group was recorded twice
