"""Pulling from traininglog's feed what the broker did not bring: on start, now and then, on a
gap in a user's stream, and for a rebuild from nothing."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
import structlog
from sqlalchemy.exc import SQLAlchemyError

from backtrack_shared.contracts.registry import USER_ERASED
from backtrack_shared.user_key import UserKey, key_of
from planner.adapters.projection_store import (
    SqlAlchemyProjectionStore,
    SqlAlchemyUnitOfWork,
    UserState,
    event_key,
    logged_event,
)
from planner.domain.failsafe import Unapplied, describe
from planner.domain.versions import replay
from planner.service_layer.apply import apply_events
from planner.service_layer.folds import RoutineFolds

log = structlog.get_logger(__name__)

CATCH_UP = "catch_up"
REBUILD = "rebuild"

Envelope = dict[str, Any]
UnitOfWorkFactory = Callable[[], SqlAlchemyUnitOfWork]


class Feed(Protocol):
    def head(self) -> int: ...

    def pages(self, after: int) -> Iterator[list[Envelope]]: ...

    def user_events(self, user: UserKey, after_version: int = 0) -> Iterator[Envelope]: ...


def catch_up(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    *,
    checkpoint: str = CATCH_UP,
    up_to: int | None = None,
    announce: bool = True,
    on_page: Callable[[int, int], None] = lambda applied, position: None,
    folds: RoutineFolds | None = None,
) -> int:
    """Apply every feed event after the checkpoint (and at most `up_to`); return how many were
    read. The checkpoint moves after each page, so an interrupted run resumes where it stopped."""
    with unit_of_work() as uow:
        after = uow.store.checkpoint(checkpoint) or 0
    read = 0
    for page in feed.pages(after):
        if up_to is not None:
            page = [envelope for envelope in page if envelope["position"] <= up_to]
            if not page:
                break
        apply_events(
            unit_of_work,
            page,
            announce=announce,
            folds=folds,
            checkpoint=(checkpoint, page[-1]["position"]),
        )
        read += len(page)
        on_page(len(page), page[-1]["position"])
    return read


class LaggingCatchUp:
    """The periodic safety net for messages the broker lost. It applies only what was in the
    feed one period ago, and only while the consumer has nothing queued: a healthy consumer has
    applied those already (they are skipped), so the net does not race the consumer and events
    keep being applied in feed order."""

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        feed: Feed,
        folds: RoutineFolds | None = None,
        consumer_busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._feed = feed
        self._folds = folds
        self._consumer_busy = consumer_busy
        self._head_one_period_ago: int | None = None

    def __call__(self) -> int:
        head = self._feed.head()
        read = 0
        if self._head_one_period_ago is not None and not self._consumer_busy():
            read = catch_up(
                self._unit_of_work, self._feed, up_to=self._head_one_period_ago, folds=self._folds
            )
        self._head_one_period_ago = head
        return read


def fill_gap(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    envelope: Envelope,
    folds: RoutineFolds | None = None,
) -> int:
    """Before applying `envelope`, apply the earlier events of its user's stream that never
    arrived. Best effort: the routine converges whatever order events come in, so if
    traininglog cannot be reached the event is applied anyway and catch-up brings the rest."""
    user, version = key_of(envelope), envelope["stream_version"]
    user_id = user.user_id
    with unit_of_work() as uow:
        last = uow.store.last_stream_version(user)
    if version <= last + 1:
        return 0
    missed: list[Envelope] = []
    try:
        for earlier in feed.user_events(user, after_version=last):
            if earlier["stream_version"] >= version:
                break
            missed.append(earlier)
        if missed:
            apply_events(unit_of_work, missed, folds=folds)
    except requests.RequestException as err:
        log.warning("gap.unfilled", user_id=user_id, missing_after=last, error=str(err))
    log.info("gap.filled", user_id=user_id, missing_after=last, filled=len(missed))
    return len(missed)


def rebuild(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    *,
    on_page: Callable[[int, int], None] = lambda read, position: None,
    on_user: Callable[[int], None] = lambda folded: None,
    on_skipped: Callable[[str, str], None] = lambda user_id, error: None,
) -> int:
    """Rebuild every projection from the feed, in two phases: store every event (page by page,
    the checkpoint moving in the same transaction), then fold each user's events in feed order
    into their routine versions, one user a transaction. Memory holds a page, then one user.
    The versions are those live processing made (`replay_versions` is how it makes them).
    Resumable: an interrupted run continues where it stopped. Nothing is announced again.
    An event that cannot be read is not stored but set aside and reported (`on_skipped`), and
    one the rules cannot fold is set aside as live processing sets it aside: either way its
    user's routine pauses naming it, and no user aborts everyone's rebuild."""
    with unit_of_work() as uow:
        fenced = uow.store.shared_by_instances
    if not fenced:  # SQLite: one writer at a time, the planner's instances are one process
        return _rebuild(unit_of_work, feed, on_page, on_user, on_skipped)
    with unit_of_work() as holder:
        holder.store.hold_for_rebuild()  # no other planner instance applies meanwhile
        try:
            return _rebuild(unit_of_work, feed, on_page, on_user, on_skipped)
        finally:
            holder.store.release_rebuild()


def _rebuild(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    on_page: Callable[[int, int], None],
    on_user: Callable[[int], None],
    on_skipped: Callable[[str, str], None],
) -> int:
    with unit_of_work() as uow:
        if uow.store.checkpoint(REBUILD) is None:
            uow.store.forget()
            uow.store.set_checkpoint(REBUILD, 0)
            uow.commit()
        after = uow.store.checkpoint(REBUILD) or 0
    read = 0
    for page in feed.pages(after):
        with unit_of_work() as uow:
            _store_page(uow.store, page, on_skipped)
            uow.store.set_checkpoint(REBUILD, page[-1]["position"])
            uow.commit()
        read += len(page)
        on_page(len(page), page[-1]["position"])
    while True:
        with unit_of_work() as uow:
            users = uow.store.users_without_routine(limit=500)
        if not users:
            break
        for user in users:
            with unit_of_work() as uow:
                folded = _fold_user(uow.store, user, rebuilding=True)
                uow.commit()
            on_user(folded)
    with unit_of_work() as uow:
        uow.store.set_checkpoint(CATCH_UP, uow.store.checkpoint(REBUILD))
        uow.store.set_checkpoint(REBUILD, None)
        uow.commit()
    return read


def _store_page(
    store: SqlAlchemyProjectionStore,
    page: list[Envelope],
    on_skipped: Callable[[str, str], None] = lambda user_id, error: None,
) -> None:
    """A rebuild's first phase for one page: store the events not stored yet; an erasure
    marker erases its user, whose events are never stored again. An event that cannot be read
    is not stored but set aside (its user's routine will pause naming it) and reported."""
    store.lock_users((key_of(envelope) for envelope in page), rebuilding=True)
    erased = store.erased((key_of(envelope), envelope["position"]) for envelope in page)
    for envelope in page:
        if envelope["type"] == USER_ERASED and key_of(envelope) not in erased:
            erased_at = datetime.fromisoformat(envelope["occurred_at"])
            store.erase(key_of(envelope), envelope["position"], erased_at)
            erased.add(key_of(envelope))
    known = store.known_event_ids([event_key(envelope) for envelope in page])
    new = [e for e in page if event_key(e) not in known and key_of(e) not in erased]
    unreadable = {event_key(e): error for e in new if (error := _unreadable(e))}
    for envelope in new:
        if event_key(envelope) in unreadable:
            error = unreadable[event_key(envelope)]
            aside = Unapplied(envelope["event_id"], error, (), envelope["position"])
            store.set_aside(key_of(envelope), [aside])
            on_skipped(envelope["user_id"], f"event {envelope['event_id']}: {error}")
    new = [envelope for envelope in new if event_key(envelope) not in unreadable]
    store.add_events(new)
    store.absorb_access_changes(new)


def _unreadable(envelope: Envelope) -> str | None:
    """Why a feed event could not be stored and read back as the rules read it, if it cannot."""
    try:
        logged_event(envelope).occurred_at.astimezone(UTC)
    except Exception as err:
        return describe(err)
    return None


def _fold_user(store: SqlAlchemyProjectionStore, user: UserKey, *, rebuilding: bool = False) -> int:
    """Make a user's routine versions from their stored events (setting aside those the rules
    cannot fold, as live processing does, beside any set aside already); return how many were
    folded."""
    store.lock_users([user], rebuilding=rebuilding)
    events = store.history_in_applied_order(user)
    already = store.unapplied([user]).get(user, [])
    replayed = replay(events, set_aside=already)
    store.add_routine_versions(replayed.versions)
    store.set_aside(user, replayed.unapplied[len(already) :])
    position = max((e.position for e in events), default=0)
    state = UserState(user.user_id, position, len(replayed.versions), tenant=user.tenant)
    store.save_users([state], new_user_ids={user})
    return len(events)


class RebuildFailed(Exception):
    """A one-user rebuild that could not be done: nothing of it was kept."""


def rebuild_user(
    unit_of_work: UnitOfWorkFactory, feed: Feed, user: UserKey, folds: RoutineFolds | None = None
) -> int:
    """Rebuild one user's projections from their stream in traininglog, all or nothing: their
    stream is read whole first, then replaced and folded in one transaction, so a failure
    (RebuildFailed; traininglog not answering: requests.RequestException) leaves their previous
    projections as they were."""
    stream = list(feed.user_events(user))
    try:
        with unit_of_work() as uow:
            uow.store.lock_users([user])
            uow.store.forget(user)
            if uow.store.erased((user, envelope["position"]) for envelope in stream):
                stream = []
            uow.store.add_events(stream)
            uow.store.absorb_access_changes(stream)
            if stream:
                _fold_user(uow.store, user)
            uow.commit()
    except SQLAlchemyError:
        raise
    except Exception as err:
        log.exception("rebuild.user_failed", user_id=user.user_id, tenant=user.tenant)
        raise RebuildFailed(describe(err)) from err
    finally:
        if folds is not None:
            folds.forget(user)
    return len(stream)
