"""A full rebuild from the feed makes the versions live processing made, and resumes after an
interruption. On SQLite only: a rebuild forgets every projection in its database."""

import json

import pytest
from sqlalchemy import Engine

from planner.adapters.projection_store import SqlAlchemyPlannerReader, SqlAlchemyUnitOfWork
from planner.service_layer.apply import apply_event
from planner.service_layer.catch_up import rebuild
from tests.factories import baseline, new_user_id, pain, workout
from tests.integration.test_planner_apply import stored

pytestmark = pytest.mark.integration


class Interrupted(Exception):
    pass


class ListFeed:
    """traininglog's feed over a list, two events a page, breaking after `pages_before_failing`."""

    def __init__(self, envelopes: list[dict], pages_before_failing: int | None = None) -> None:
        self._envelopes = envelopes
        self._pages_left = pages_before_failing

    def head(self) -> int:
        return self._envelopes[-1]["position"]

    def pages(self, after: int):  # type: ignore[no-untyped-def]
        rest = [e for e in self._envelopes if e["position"] > after]
        for start in range(0, len(rest), 2):
            if self._pages_left is not None:
                if self._pages_left == 0:
                    raise Interrupted
                self._pages_left -= 1
            yield rest[start : start + 2]


def feed_of_two_users() -> list[dict]:
    ana, ben = new_user_id(), new_user_id()
    documents = [
        baseline(ana),
        baseline(ben),
        workout(ana, day=1),
        pain(ben, score=4, day=1),
        workout(ben, day=2),
        pain(ana, score=1, timing="after", day=2),
        workout(ana, day=3),
    ]
    versions: dict[str, int] = {}
    envelopes = []
    for position, document in enumerate(documents, start=1):
        user = document["user_id"]
        versions[user] = versions.get(user, 0) + 1
        envelopes.append(stored(document, stream_version=versions[user], position=position))
    return envelopes


def all_versions(engine: Engine, users: set[str]) -> str:
    reader = SqlAlchemyPlannerReader(engine)
    return json.dumps({u: [v.as_json() for v in reader.history(u)] for u in sorted(users)})


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
