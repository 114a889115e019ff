"""Recording events: validate-once envelopes in, one transaction, one receipt per event out."""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from backtrack_shared.contracts import canonical_body
from traininglog.adapters.event_store import RowToAppend, SqlAlchemyUnitOfWork
from traininglog.domain.append import NewEvent, Outcome, decide_append
from traininglog.metrics import EVENTS_RECORDED

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Receipt:
    outcome: Outcome
    event_id: str
    user_id: str
    stream_version: int | None
    position: int | None

    def as_response(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "user_id": self.user_id,
            "stream_version": self.stream_version,
            "position": self.position,
        }


def new_event(envelope: dict[str, Any]) -> NewEvent:
    """From an envelope loaded by NewEventSchema to what the store appends."""
    body = canonical_body(envelope)
    return NewEvent(
        event_id=envelope["event_id"],
        user_id=envelope["user_id"],
        type=envelope["type"],
        schema_version=envelope["schema_version"],
        occurred_at=envelope["occurred_at"].astimezone(UTC),
        body=body,
        body_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


def record_events(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelopes: Sequence[dict[str, Any]],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Receipt]:
    """Append the new events and their outbox rows in one transaction; all or nothing."""
    candidates = [new_event(envelope) for envelope in envelopes]
    with unit_of_work() as uow:
        uow.events.lock_for_append()
        already_stored = uow.events.find(event.event_id for event in candidates)
        heads = uow.events.stream_heads(
            event.user_id for event in candidates if event.event_id not in already_stored
        )
        decisions = decide_append(candidates, already_stored, heads)
        to_append = [
            RowToAppend(d.event, d.stream_version)
            for d in decisions
            if d.outcome is Outcome.STORED and d.stream_version is not None
        ]
        positions = iter(uow.events.append(to_append, recorded_at=now()))
        uow.commit()

    receipts = []
    stored_positions: dict[str, int] = {}
    for decision in decisions:
        event = decision.event
        if decision.outcome is Outcome.STORED:
            position: int | None = next(positions)
            stored_positions[event.event_id] = position  # type: ignore[assignment]
        elif decision.existing is not None:
            position = decision.existing.position
        else:  # a repeat of an event stored earlier in this very batch
            position = stored_positions.get(event.event_id)
        receipts.append(
            Receipt(
                decision.outcome, event.event_id, event.user_id, decision.stream_version, position
            )
        )
        EVENTS_RECORDED.labels(decision.outcome.value).inc()
        log.info(
            "event.recorded",
            event_id=event.event_id,
            user_id=event.user_id,
            type=event.type,
            outcome=decision.outcome.value,
            stream_version=decision.stream_version,
            position=position,
        )
    return receipts
