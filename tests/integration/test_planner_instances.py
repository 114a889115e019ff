"""Several planner instances on one projection store: a user applied in turn by two instances
(their partition moved, or one's catch-up filled a gap) gets the versions one instance makes."""

import threading

import pytest
from sqlalchemy import Engine

from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import (
    RebuildRunning,
    SqlAlchemyPlannerReader,
    SqlAlchemyUnitOfWork,
)
from planner.domain.versions import audit, replay_versions
from planner.service_layer.apply import apply_event
from planner.service_layer.folds import RoutineFolds
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.envelopes import stored

pytestmark = pytest.mark.integration


def test_a_fold_kept_by_one_instance_is_refolded_after_another_applied_the_user(engine: Engine):
    user = new_user_id()
    documents = [
        baseline(user),
        workout(user, day=1),
        pain(user, score=8, timing="during", day=2),  # applied by the other instance
        workout(user, day=3),
        workout(user, day=4),
    ]
    envelopes = [
        stored(document, stream_version=n + 1, position=100 + n)
        for n, document in enumerate(documents)
    ]
    first, second = RoutineFolds(), RoutineFolds()  # each instance's memory of its users
    by = [first, first, second, first, first]
    for envelope, folds in zip(envelopes, by, strict=True):
        apply_event(lambda: SqlAlchemyUnitOfWork(engine), envelope, folds=folds)
    reader = SqlAlchemyPlannerReader(engine)
    key = UserKey("acme", user)
    replayed = replay_versions(reader.events_in_applied_order(key))
    assert audit(reader.history(key), replayed)["reproduced"]


def test_one_user_is_applied_by_one_instance_at_a_time(postgres_engine: Engine):
    """While one instance's transaction holds a user, another's application of that user waits
    for its commit (and then sees it); another user's does not wait."""

    user, other = new_user_id(), new_user_id()
    done: list[str] = []
    holding = SqlAlchemyUnitOfWork(postgres_engine)
    with holding as uow:
        uow.store.lock_users([UserKey("acme", user)])

        def apply_one(user_id: str, position: int) -> None:
            envelope = stored(baseline(user_id), stream_version=1, position=position)
            apply_event(lambda: SqlAlchemyUnitOfWork(postgres_engine), envelope)
            done.append(user_id)

        waiting = threading.Thread(target=apply_one, args=(user, 500))
        free = threading.Thread(target=apply_one, args=(other, 501))
        waiting.start()
        free.start()
        free.join(timeout=30)
        waiting.join(timeout=2)
        assert done == [other]  # the held user waits
        uow.commit()
    waiting.join(timeout=30)
    assert done == [other, user]


def test_no_instance_applies_while_another_rebuilds_everything(postgres_engine: Engine):
    """A full rebuild forgets every projection first: an instance applying meanwhile would fold
    a user onto a half-rebuilt history. It is told to wait (its consumer holds the message)."""
    user = new_user_id()
    envelope = stored(baseline(user), stream_version=1, position=600)
    with SqlAlchemyUnitOfWork(postgres_engine) as rebuilding:
        rebuilding.store.hold_for_rebuild()
        with pytest.raises(RebuildRunning):
            apply_event(lambda: SqlAlchemyUnitOfWork(postgres_engine), envelope)
        with SqlAlchemyUnitOfWork(postgres_engine) as own:  # the rebuild's own writes go on
            own.store.lock_users([UserKey("acme", user)], rebuilding=True)
        rebuilding.store.release_rebuild()
    assert apply_event(lambda: SqlAlchemyUnitOfWork(postgres_engine), envelope).routine_version == 1
