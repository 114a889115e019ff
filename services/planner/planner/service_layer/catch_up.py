"""Pulling from traininglog's feed what the broker did not bring: on start, now and then, on a
gap in a user's stream, and for a rebuild from nothing."""

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import requests
import structlog

from planner.adapters.projection_store import SqlAlchemyUnitOfWork
from planner.service_layer.apply import apply_event

log = structlog.get_logger(__name__)

CATCH_UP = "catch_up"
REBUILD = "rebuild"

Envelope = dict[str, Any]
UnitOfWorkFactory = Callable[[], SqlAlchemyUnitOfWork]


class Feed(Protocol):
    def head(self) -> int: ...

    def pages(self, after: int) -> Iterator[list[Envelope]]: ...

    def user_events(self, user_id: str, after_version: int = 0) -> Iterator[Envelope]: ...


def catch_up(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    *,
    checkpoint: str = CATCH_UP,
    up_to: int | None = None,
    announce: bool = True,
    on_page: Callable[[int, int], None] = lambda applied, position: None,
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
        for envelope in page:
            apply_event(unit_of_work, envelope, announce=announce)
        read += len(page)
        with unit_of_work() as uow:
            uow.store.set_checkpoint(checkpoint, page[-1]["position"])
            uow.commit()
        on_page(len(page), page[-1]["position"])
    return read


class LaggingCatchUp:
    """The periodic safety net for messages the broker lost. It applies only what was in the
    feed one period ago: a healthy consumer has applied those already (they are skipped), so the
    net never races the consumer and events keep being applied in feed order."""

    def __init__(self, unit_of_work: UnitOfWorkFactory, feed: Feed) -> None:
        self._unit_of_work = unit_of_work
        self._feed = feed
        self._head_one_period_ago: int | None = None

    def __call__(self) -> int:
        head = self._feed.head()
        read = 0
        if self._head_one_period_ago is not None:
            read = catch_up(self._unit_of_work, self._feed, up_to=self._head_one_period_ago)
        self._head_one_period_ago = head
        return read


def fill_gap(unit_of_work: UnitOfWorkFactory, feed: Feed, envelope: Envelope) -> int:
    """Before applying `envelope`, apply the earlier events of its user's stream that never
    arrived. Best effort: the routine converges whatever order events come in, so if
    traininglog cannot be reached the event is applied anyway and catch-up brings the rest."""
    user_id, version = envelope["user_id"], envelope["stream_version"]
    with unit_of_work() as uow:
        last = uow.store.last_stream_version(user_id)
    if version <= last + 1:
        return 0
    filled = 0
    try:
        for missed in feed.user_events(user_id, after_version=last):
            if missed["stream_version"] >= version:
                break
            apply_event(unit_of_work, missed)
            filled += 1
    except requests.RequestException as err:
        log.warning("gap.unfilled", user_id=user_id, missing_after=last, error=str(err))
    log.info("gap.filled", user_id=user_id, missing_after=last, filled=filled)
    return filled


def rebuild(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    *,
    on_page: Callable[[int, int], None] = lambda applied, position: None,
) -> int:
    """Rebuild every projection from the feed. Resumable: a run that was interrupted continues
    from its checkpoint instead of starting again. Rebuilt versions are not announced again."""
    with unit_of_work() as uow:
        if uow.store.checkpoint(REBUILD) is None:
            uow.store.forget()
            uow.store.set_checkpoint(REBUILD, 0)
            uow.commit()
    read = catch_up(unit_of_work, feed, checkpoint=REBUILD, announce=False, on_page=on_page)
    with unit_of_work() as uow:
        uow.store.set_checkpoint(CATCH_UP, uow.store.checkpoint(REBUILD))
        uow.store.set_checkpoint(REBUILD, None)
        uow.commit()
    return read


def rebuild_user(unit_of_work: UnitOfWorkFactory, feed: Feed, user_id: str) -> int:
    """Rebuild one user's projections from their stream in traininglog."""
    with unit_of_work() as uow:
        uow.store.forget(user_id)
        uow.commit()
    read = 0
    for envelope in feed.user_events(user_id):
        apply_event(unit_of_work, envelope, announce=False)
        read += 1
    return read
