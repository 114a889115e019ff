"""The event store's contract, run on SQLite and on PostgreSQL alike."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.user_key import UserKey
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.publishers import CountingPublisher
from tests.support.recording import record
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyEventReader
from traininglog.adapters.outbox import SqlAlchemyEventOutbox
from traininglog.adapters.tables import event_outbox, events
from traininglog.domain.append import Outcome
from traininglog.service_layer.ingest import Receipt

pytestmark = pytest.mark.integration


def rows_for(engine: Engine, user_id: str) -> list[tuple[int, str]]:
    query = (
        select(events.c.stream_version, events.c.event_id)
        .where(events.c.user_id == user_id)
        .order_by(events.c.stream_version)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def test_same_body_is_stored_once_and_answered_as_the_first_time(engine):
    document = baseline(new_user_id())
    (first,) = record(engine, document)
    (again,) = record(engine, document)
    assert first.outcome is Outcome.STORED and again.outcome is Outcome.DUPLICATE
    assert again.as_response() == first.as_response()
    assert rows_for(engine, document["user_id"]) == [(1, document["event_id"])]


def test_same_id_with_another_body_is_a_conflict_and_changes_nothing(engine):
    document = pain(new_user_id(), score=2)
    record(engine, document)
    changed = {**document, "payload": {**document["payload"], "score": 7}}
    (receipt,) = record(engine, changed)
    assert receipt.outcome is Outcome.CONFLICT
    reader = SqlAlchemyEventReader(engine, keys_for(engine))
    assert reader.stream(UserKey("acme", document["user_id"]), 0, 10)[0]["payload"]["score"] == 2


def test_streams_are_per_user_and_paged_in_order(engine):
    ana, ben = new_user_id(), new_user_id()
    record(engine, baseline(ana), baseline(ben), workout(ana, day=1), pain(ana, score=1, day=2))
    reader = SqlAlchemyEventReader(engine, keys_for(engine))
    first_page = reader.stream(UserKey("acme", ana), after_version=0, limit=2)
    second_page = reader.stream(UserKey("acme", ana), after_version=2, limit=2)
    assert [e["stream_version"] for e in first_page + second_page] == [1, 2, 3]
    assert [e["type"] for e in first_page + second_page] == [
        "baseline.assessed",
        "workout.logged",
        "pain.reported",
    ]
    assert [e["stream_version"] for e in reader.stream(UserKey("acme", ben), 0, 10)] == [1]


def test_the_feed_gives_every_event_after_a_position_in_position_order(engine):
    user = new_user_id()
    receipts = record(engine, baseline(user), workout(user), pain(user, score=0))
    positions = [r.position for r in receipts]
    assert positions == sorted(positions)
    reader = SqlAlchemyEventReader(engine, keys_for(engine))
    after_first = reader.feed(after_position=positions[0], limit=1000)
    mine = [e["event_id"] for e in after_first if e["user_id"] == user]
    assert mine == [r.event_id for r in receipts[1:]]
    assert all(e["position"] > positions[0] for e in after_first)
    stored = after_first[0]
    assert set(stored) >= {"recorded_at", "stream_version", "position", "occurred_at", "payload"}


def test_every_stored_event_waits_in_the_outbox_until_published(engine):
    user = new_user_id()
    receipts = record(engine, baseline(user), workout(user))
    outbox = SqlAlchemyEventOutbox(engine, keys_for(engine))
    pending = {p.outbox_id: p.message for p in outbox.pending(limit=100_000)}
    assert {r.position for r in receipts} <= set(pending)
    message = pending[receipts[0].position]
    assert message.message_id == receipts[0].event_id
    assert message.routing_key == "baseline.assessed"
    outbox.mark_published([r.position for r in receipts if r.position is not None])
    remaining = {p.outbox_id for p in outbox.pending(limit=100_000)}
    assert not remaining & {r.position for r in receipts}


def test_a_failed_append_stores_nothing(engine, monkeypatch):
    user = new_user_id()

    def fail_after_insert(self, rows, *rest):  # the events are inserted, then it breaks
        original(self, rows, *rest)
        raise RuntimeError("disk full")

    from traininglog.adapters.event_store import SqlAlchemyEventStore

    original = SqlAlchemyEventStore.append
    monkeypatch.setattr(SqlAlchemyEventStore, "append", fail_after_insert)
    with pytest.raises(RuntimeError):
        record(engine, baseline(user), workout(user))
    monkeypatch.undo()
    assert rows_for(engine, user) == []
    with engine.connect() as connection:
        orphans = connection.execute(
            select(func.count())
            .select_from(event_outbox)
            .where(~event_outbox.c.position.in_(select(events.c.position)))
        ).scalar_one()
    assert orphans == 0


def test_eight_concurrent_writers_to_one_user_leave_versions_without_gaps(engine):
    user, writers, per_writer = new_user_id(), 8, 25

    def write(writer: int) -> list[Receipt]:
        return [r for i in range(per_writer) for r in record(engine, pain(user, score=i % 3))]

    with ThreadPoolExecutor(writers) as pool:
        receipts = [r for batch in pool.map(write, range(writers)) for r in batch]
    assert all(r.outcome is Outcome.STORED for r in receipts)
    versions = [version for version, _ in rows_for(engine, user)]
    assert versions == list(range(1, writers * per_writer + 1))


def test_the_same_event_posted_ten_times_at_once_is_stored_once(engine):
    document = workout(new_user_id())
    with ThreadPoolExecutor(10) as pool:
        receipts = [
            r for batch in pool.map(lambda _: record(engine, document), range(10)) for r in batch
        ]
    assert sorted(r.outcome.value for r in receipts) == ["duplicate"] * 9 + ["stored"]
    assert {r.as_response()["position"] for r in receipts} == {receipts[0].position}
    assert rows_for(engine, document["user_id"]) == [(1, document["event_id"])]


def test_relays_of_several_processes_send_each_message_once(postgres_engine):
    """Every traininglog process (on PostgreSQL: SQLite's traininglog is one process) runs a
    relay on the one outbox: they take turns, so each message goes out once."""
    engine = postgres_engine
    receipts = [r for _ in range(60) for r in record(engine, baseline(new_user_id()))]
    publisher = CountingPublisher()
    outboxes = [SqlAlchemyEventOutbox(engine, keys_for(engine)) for _ in range(3)]
    relays = [OutboxRelay(outbox, publisher, "events", batch_size=10) for outbox in outboxes]
    with ThreadPoolExecutor(len(relays)) as pool:
        while outboxes[0].backlog():
            list(pool.map(lambda relay: relay.relay_once(), relays))
    assert {r.event_id for r in receipts} <= set(publisher.sent)
    assert set(publisher.sent.values()) == {1}
