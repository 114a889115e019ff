"""Applying one traininglog event: dedupe, fold the user's history through the rules, and when
the routine changed, store a new version and announce it, all in one transaction."""

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from backtrack_shared.rabbit import OutgoingMessage
from backtrack_shared.topology import ROUTINE_UPDATED
from planner.adapters.projection_store import (
    RoutineVersion,
    SqlAlchemyUnitOfWork,
    UserState,
    logged_event,
)
from planner.domain import RULES_VERSION, derive_routine
from planner.metrics import EVENTS_APPLIED, ROUTINE_VERSIONS
from planner.service_layer.changes import routine_changes

log = structlog.get_logger(__name__)


class Applied(enum.Enum):
    ROUTINE_CHANGED = "routine_changed"
    ROUTINE_UNCHANGED = "routine_unchanged"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ApplyResult:
    outcome: Applied
    routine_version: int | None


def routine_updated_message(version: RoutineVersion) -> OutgoingMessage:
    body = {
        "type": ROUTINE_UPDATED,
        "user_id": version.user_id,
        "version": version.version,
        "rules_version": version.rules_version,
        "as_of": version.as_of.isoformat(),
        "applied_position": version.applied_position,
        "caused_by": version.caused_by,
        "changes": version.changes,
        "routine": version.routine,
    }
    return OutgoingMessage(
        routing_key=ROUTINE_UPDATED,
        body=json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),
        message_id=f"{version.user_id}:routine:{version.version}",
        headers={"user_id": version.user_id},
    )


def apply_event(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork], envelope: dict[str, Any]
) -> ApplyResult:
    """Apply a stored envelope (as traininglog published it) exactly once."""
    event = logged_event(envelope)
    with unit_of_work() as uow:
        store = uow.store
        if store.has_event(event.event_id):
            EVENTS_APPLIED.labels(Applied.DUPLICATE.value).inc()
            return ApplyResult(Applied.DUPLICATE, None)
        store.add_event(envelope, event.occurred_at)
        history = store.history(event.user_id)
        as_of = max(logged.occurred_at for logged in history)
        routine = derive_routine(history, as_of).to_dict()

        state = store.user(event.user_id)
        is_new_user = state is None
        if state is None:
            state = UserState(event.user_id, applied_position=0, routine_version=0)
        applied_position = max(state.applied_position, event.position)
        latest = store.routine_version(event.user_id, state.routine_version)
        outcome = Applied.ROUTINE_UNCHANGED
        version_number = state.routine_version
        if latest is None or latest.routine != routine:
            version_number += 1
            version = RoutineVersion(
                user_id=event.user_id,
                version=version_number,
                rules_version=RULES_VERSION,
                as_of=as_of,
                applied_position=applied_position,
                caused_by=[event.event_id],
                changes=routine_changes(latest.routine if latest else None, routine),
                routine=routine,
            )
            store.add_routine_version(version)
            store.add_to_outbox(routine_updated_message(version))
            outcome = Applied.ROUTINE_CHANGED
        store.save_user(
            UserState(event.user_id, applied_position, version_number), is_new=is_new_user
        )
        uow.commit()
    EVENTS_APPLIED.labels(outcome.value).inc()
    if outcome is Applied.ROUTINE_CHANGED:
        ROUTINE_VERSIONS.inc()
    log.info(
        "event.applied",
        outcome=outcome.value,
        routine_version=version_number,
        position=event.position,
    )
    return ApplyResult(outcome, version_number)
