"""A full rebuild from the feed makes the versions live processing made, and resumes after an
interruption. On SQLite only: a rebuild forgets every projection in its database."""

import threading
import time

import pytest
from sqlalchemy import Engine

from planner.adapters.projection_store import SqlAlchemyPlannerReader, SqlAlchemyUnitOfWork
from planner.service_layer.apply import apply_event
from planner.service_layer.catch_up import rebuild
from planner.service_layer.rebuild_job import RebuildJob
from planner.service_layer.single_writer import ProjectionsBusy, SingleWriter
from tests.support.envelopes import Interrupted, ListFeed, all_versions, feed_of_two_users

pytestmark = pytest.mark.integration


def test_an_interrupted_rebuild_resumes_and_makes_the_live_versions(sqlite_engine: Engine):
    envelopes = feed_of_two_users()
    users = {e["user_id"] for e in envelopes}
    for envelope in envelopes:
        apply_event(lambda: SqlAlchemyUnitOfWork(sqlite_engine), envelope)
    live = all_versions(sqlite_engine, users)

    with pytest.raises(Interrupted):
        rebuild(lambda: SqlAlchemyUnitOfWork(sqlite_engine), ListFeed(envelopes, 2))
    assert SqlAlchemyPlannerReader(sqlite_engine).checkpoint("rebuild") == 4

    folded: list[int] = []
    read = rebuild(
        lambda: SqlAlchemyUnitOfWork(sqlite_engine), ListFeed(envelopes), on_user=folded.append
    )
    assert read == 3  # only what the interrupted run had not stored
    assert sum(folded) == len(envelopes)
    assert all_versions(sqlite_engine, users) == live
    reader = SqlAlchemyPlannerReader(sqlite_engine)
    assert reader.checkpoint("rebuild") is None and reader.checkpoint("catch_up") == 7


class GatedFeed(ListFeed):
    """Holds its second page until the test opens the gate: a rebuild caught mid-way."""

    def __init__(self, envelopes: list[dict]) -> None:
        super().__init__(envelopes)
        self.gate = threading.Event()

    def pages(self, after: int):  # type: ignore[no-untyped-def]
        for number, page in enumerate(super().pages(after)):
            if number == 1:
                assert self.gate.wait(10)
            yield page


class RecordingConsumer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")


def test_a_full_rebuild_keeps_every_other_writer_out_until_it_is_done(sqlite_engine: Engine):
    envelopes = feed_of_two_users()
    feed, consumer, writer = GatedFeed(envelopes), RecordingConsumer(), SingleWriter()
    job = RebuildJob(lambda: SqlAlchemyUnitOfWork(sqlite_engine), feed, consumer, writer)

    assert job.start()
    deadline = time.monotonic() + 10
    while job.status()["events_read"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert consumer.calls == ["pause"]
    # The catch-up, the consumer's next message, a one-user rebuild: each waits its turn.
    with pytest.raises(ProjectionsBusy), writer.turn(wait_s=0.05):
        pass
    assert not job.start()  # one rebuild at a time

    feed.gate.set()
    while job.status()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.status()["state"] == "done"
    with writer.turn(wait_s=1):
        assert consumer.calls == ["pause", "resume"]
    assert SqlAlchemyPlannerReader(sqlite_engine).checkpoint("catch_up") == len(envelopes)
