"""Recording events: validate-once envelopes in, one transaction, one receipt per event out."""

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from backtrack_shared.contracts import canonical_body
from traininglog.adapters.event_store import RowToAppend, SqlAlchemyUnitOfWork
from traininglog.adapters.sealing import seal
from traininglog.domain.append import NewEvent, Outcome, Writer, decide_append
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


def new_event(envelope: dict[str, Any], tenant: str) -> NewEvent:
    """From an envelope loaded by NewEventSchema, for a user of `tenant`'s, to what the store
    appends."""
    body = canonical_body(envelope)
    return NewEvent(
        event_id=envelope["event_id"],
        tenant=tenant,
        user_id=envelope["user_id"],
        type=envelope["type"],
        schema_version=envelope["schema_version"],
        occurred_at=envelope["occurred_at"].astimezone(UTC),
        body=body,
        body_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


Request = tuple[Sequence[dict[str, Any]], Writer]  # one client's envelopes


def record_events(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelopes: Sequence[dict[str, Any]],
    writer: Writer,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Receipt]:
    """Append the new events and their outbox rows in one transaction; all or nothing. The
    events are for users of the tenant the writer addresses (its own, unless it names another);
    a user seen for the first time gets a new key sealing their events."""
    (receipts,) = record_requests(unit_of_work, [(envelopes, writer)], now=now)
    return receipts


def record_requests(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    requests: Sequence[Request],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[list[Receipt]]:
    """`record_events` for several clients' requests in one transaction (see GroupCommit):
    the receipts of each request, in order, as if each had been recorded on its own."""
    candidates = [
        new_event(envelope, writer.addressed)
        for envelopes, writer in requests
        for envelope in envelopes
    ]
    writers = [writer for envelopes, writer in requests for _ in envelopes]
    recorded_at = now()
    with unit_of_work() as uow:
        state = uow.events.lock_and_read(candidates)
        known_users = state.users
        decisions = decide_append(
            candidates,
            state.stored,
            state.heads,
            writers=writers,
            owners={user: known.owner for user, known in known_users.items()},
        )
        stored = [d for d in decisions if d.outcome is Outcome.STORED]
        new_users = sorted({d.event.user for d in stored if d.event.user not in known_users})
        # The keys were committed before: should this transaction fail, a key that sealed
        # nothing is left over, never a body that no key opens.
        new_keys = dict(zip(new_users, uow.keys.new_keys(len(new_users)), strict=True))
        stored_keys = uow.keys.get(
            known.key_id for known in known_users.values() if not known.owner.erased
        )
        keys = {
            user: stored_keys[known.key_id]
            for user, known in known_users.items()
            if known.key_id in stored_keys
        }
        keys.update({user: key for user, (_, key) in new_keys.items()})
        to_append = [
            RowToAppend(
                d.event,
                d.stream_version,
                seal(keys[d.event.user], d.event.event_id, d.event.body),
            )
            for d in stored
            if d.stream_version is not None
        ]
        added_users = {user: key_id for user, (key_id, _) in new_keys.items()}
        positions = iter(
            uow.events.append(to_append, recorded_at, state.last_position, added_users)
        )
        uow.commit()

    receipts = []
    stored_positions: dict[tuple[str, str], int] = {}
    for decision in decisions:
        event = decision.event
        if decision.outcome is Outcome.STORED:
            position: int | None = next(positions)
            stored_positions[event.key] = position  # type: ignore[assignment]
        elif decision.existing is not None:
            position = decision.existing.position
        elif decision.stream_version is None:  # nothing to tell (another user's event)
            position = None
        else:  # a repeat of an event stored earlier in this very batch
            position = stored_positions.get(event.key)
        receipts.append(
            Receipt(
                decision.outcome, event.event_id, event.user_id, decision.stream_version, position
            )
        )
    _log_recorded(receipts)
    answers, taken = [], 0
    for envelopes, _ in requests:
        answers.append(receipts[taken : taken + len(envelopes)])
        taken += len(envelopes)
    return answers


def _log_recorded(receipts: Sequence[Receipt]) -> None:
    """One log line per request, naming every event id: a line per event cost a fifth of a
    batch's time, and the ids still lead from a client's request to the planner's logs."""
    outcomes = Counter(receipt.outcome.value for receipt in receipts)
    for outcome, count in outcomes.items():
        EVENTS_RECORDED.labels(outcome).inc(count)
    if len(receipts) == 1:
        (receipt,) = receipts
        log.info("event.recorded", outcome=receipt.outcome.value, **receipt.as_response())
        return
    log.info(
        "events.recorded",
        outcomes=dict(outcomes),
        event_ids=[receipt.event_id for receipt in receipts],
        positions=[receipt.position for receipt in receipts],
    )
