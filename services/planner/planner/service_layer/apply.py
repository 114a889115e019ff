"""Applying one traininglog event: dedupe, fold the user's history through the rules, and when
the routine changed, store a new version and announce it, all in one transaction."""

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from backtrack_shared.rabbit import OutgoingMessage
from backtrack_shared.topology import ROUTINE_UPDATED
from planner.adapters.projection_store import SqlAlchemyUnitOfWork, UserState, logged_event
from planner.metrics import EVENTS_APPLIED, ROUTINE_VERSIONS
from planner.service_layer.versions import RoutineVersion, decide_version

log = structlog.get_logger(__name__)

# Two appliers of one user's events (the consumer and a catch-up) may race on PostgreSQL; the
# loser's insert violates a key and is simply applied again, on top of the winner's result.
ATTEMPTS = 3


class Applied(enum.Enum):
    ROUTINE_CHANGED = "routine_changed"
    ROUTINE_UNCHANGED = "routine_unchanged"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ApplyResult:
    outcome: Applied
    routine_version: int | None


def routine_updated_message(version: RoutineVersion) -> OutgoingMessage:
    body = {"type": ROUTINE_UPDATED, "user_id": version.user_id, **version.as_json()}
    return OutgoingMessage(
        routing_key=ROUTINE_UPDATED,
        body=json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),
        message_id=f"{version.user_id}:routine:{version.version}",
        headers={"user_id": version.user_id},
    )


def apply_event(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelope: dict[str, Any],
    *,
    announce: bool = True,
) -> ApplyResult:
    """Apply a stored envelope (as traininglog published it) exactly once. With `announce`,
    a new routine version is also put in the outbox for `routine.updated`."""
    for attempt in range(ATTEMPTS):
        try:
            return _apply_once(unit_of_work, envelope, announce)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
            log.info("event.apply_raced", attempt=attempt + 1)
    raise AssertionError("unreachable")


def _apply_once(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork], envelope: dict[str, Any], announce: bool
) -> ApplyResult:
    event = logged_event(envelope)
    with unit_of_work() as uow:
        store = uow.store
        if store.has_event(event.event_id):
            EVENTS_APPLIED.labels(Applied.DUPLICATE.value).inc()
            return ApplyResult(Applied.DUPLICATE, None)
        store.add_event(envelope, event.occurred_at)
        state = store.user(event.user_id)
        is_new_user = state is None
        if state is None:
            state = UserState(event.user_id, applied_position=0, routine_version=0)
        applied_position = max(state.applied_position, event.position)
        previous = store.routine_version(event.user_id, state.routine_version)
        version = decide_version(previous, store.history(event.user_id), event, applied_position)
        if version is not None:
            store.add_routine_version(version)
            if announce:
                store.add_to_outbox(routine_updated_message(version))
        version_number = version.version if version else state.routine_version
        store.save_user(
            UserState(event.user_id, applied_position, version_number), is_new=is_new_user
        )
        uow.commit()
    outcome = Applied.ROUTINE_CHANGED if version else Applied.ROUTINE_UNCHANGED
    EVENTS_APPLIED.labels(outcome.value).inc()
    if version is not None:
        ROUTINE_VERSIONS.inc()
    log.info(
        "event.applied",
        outcome=outcome.value,
        routine_version=version_number,
        position=event.position,
    )
    return ApplyResult(outcome, version_number)
