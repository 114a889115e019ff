"""A batch of delivered events makes the versions that applying them one at a time makes, gaps
filled from the feed included."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from backtrack_shared.user_key import UserKey, key_of
from planner.adapters.projection_store import SqlAlchemyUnitOfWork
from planner.service_layer.apply import Applied, apply_event
from planner.service_layer.catch_up import fill_gap
from planner.service_layer.delivered import apply_delivered
from tests.support.envelopes import all_versions, feed_of_two_users
from tests.support.stores import migrated

pytestmark = pytest.mark.integration


class StreamFeed:
    """traininglog's per-user streams over a list of stored envelopes."""

    def __init__(self, envelopes: list[dict]) -> None:
        self._envelopes = envelopes

    def user_events(self, user: UserKey, after_version: int = 0) -> Iterator[dict]:
        for envelope in self._envelopes:
            if key_of(envelope) == user and envelope["stream_version"] > after_version:
                yield envelope


def test_a_delivered_batch_with_gaps_makes_the_versions_of_one_by_one(tmp_path: Path):
    feed = feed_of_two_users()  # ana: positions 1, 3, 6, 7; ben: 2, 4, 5
    users = {e["user_id"] for e in feed}
    # The broker lost ana's and ben's second events and delivered ben's first one twice.
    ana_1, ben_1, _, _, ben_3, ana_3, ana_4 = feed
    delivered = [ana_1, ben_1, ben_3, ana_3, ben_1, ana_4]
    engines = [migrated(f"sqlite:///{tmp_path / name}.db") for name in ("1", "2", "3")]
    one_by_one, batched, in_feed_order = engines
    try:
        for envelope in delivered:
            fill_gap(lambda: SqlAlchemyUnitOfWork(one_by_one), StreamFeed(feed), envelope)
            apply_event(lambda: SqlAlchemyUnitOfWork(one_by_one), envelope)
        results = apply_delivered(
            lambda: SqlAlchemyUnitOfWork(batched), StreamFeed(feed), delivered
        )
        assert len(results) == len(delivered)
        assert results[4].outcome is Applied.DUPLICATE
        assert all_versions(batched, users) == all_versions(one_by_one, users)
        for envelope in feed:
            apply_event(lambda: SqlAlchemyUnitOfWork(in_feed_order), envelope)
        assert all_versions(batched, users) == all_versions(in_feed_order, users)
    finally:
        for engine in engines:
            engine.dispose()
