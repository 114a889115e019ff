"""An operator's work on a user: forgetting them, and letting another client application see
them. Each appends an event of the services' own (no health data in it) to the user's stream,
so the planner learns of it through the same outbox, in order, and a replay replays it."""

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from backtrack_shared.catalogue import SYSTEM_SOURCE_KIND
from backtrack_shared.contracts import canonical_body
from backtrack_shared.contracts.registry import ACCESS_GRANTED, ACCESS_REVOKED, USER_ERASED
from backtrack_shared.user_key import UserKey
from traininglog.adapters.event_store import RowToAppend, SqlAlchemyUnitOfWork, UserRecord
from traininglog.domain.append import NewEvent, Outcome, Writer
from traininglog.service_layer.ingest import Receipt

log = structlog.get_logger(__name__)
Now = Callable[[], datetime]


class UnknownUser(Exception):
    """No user by that id that the caller may see (or, for a grant, they were erased)."""


def erase_user(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    user: UserKey,
    writer: Writer,
    *,
    now: Now = lambda: datetime.now(UTC),
) -> Receipt:
    """Forget a user: mark them erased and append a `user.erased` marker, which tells the
    planner to drop their projections and keeps in the log that, and when, an erasure happened;
    then delete their key (their events can no longer be opened, anywhere). Asking again
    answers the first marker, and deletes the key if an earlier attempt could not."""
    erased_at = now()
    with unit_of_work() as uow:
        uow.events.lock_for_append()
        known = _visible_user(uow, user, writer)
        if known.owner.erased:
            marker = uow.events.erasure_marker(user)
            receipt = Receipt(
                Outcome.DUPLICATE,
                marker.event_id,
                user.user_id,
                marker.stream_version,
                marker.position,
            )
        else:
            uow.events.erase(user, erased_at)
            receipt = _append(uow, user, USER_ERASED, {"requested_by": writer.tenant}, erased_at)
            uow.commit()
            log.info(
                "user.erased",
                user_id=user.user_id,
                tenant=user.tenant,
                event_id=receipt.event_id,
                requested_by=writer.tenant,
            )
    delete_erased_keys(unit_of_work)
    return receipt


def delete_erased_keys(unit_of_work: Callable[[], SqlAlchemyUnitOfWork]) -> int:
    """Delete from the key store the keys of erased users it may still hold, then forget their
    ids; how many. The erasure is committed first and the key deleted after (two databases):
    this finishes one that stopped in between, on the next erasure request or start."""
    with unit_of_work() as uow:
        pending = uow.events.keys_to_delete()
    if not pending:
        return 0
    uow.keys.delete(pending.values())
    with unit_of_work() as uow:
        uow.events.keys_deleted(sorted(pending))
        uow.commit()
    log.info("keys.deleted", users=[f"{u.tenant}/{u.user_id}" for u in sorted(pending)])
    return len(pending)


def change_access(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    user: UserKey,
    client_id: str,
    *,
    granted: bool,
    writer: Writer,
    now: Now = lambda: datetime.now(UTC),
) -> Receipt | None:
    """Grant `client_id` access to the user, or take it back, with an `access.granted` or
    `access.revoked` event; None when it already was so (nothing is appended)."""
    at = now()
    with unit_of_work() as uow:
        uow.events.lock_for_append()
        known = _visible_user(uow, user, writer)
        if known.owner.erased:
            raise UnknownUser(user.user_id)
        if (client_id in known.owner.grantees) == granted or client_id == known.owner.tenant:
            return None
        uow.events.set_access(user, client_id, granted)
        event_type = ACCESS_GRANTED if granted else ACCESS_REVOKED
        payload = {"client_id": client_id, "requested_by": writer.tenant}
        receipt = _append(uow, user, event_type, payload, at)
        uow.commit()
    log.info(
        event_type,
        user_id=user.user_id,
        tenant=user.tenant,
        client_id=client_id,
        event_id=receipt.event_id,
    )
    return receipt


def _visible_user(uow: SqlAlchemyUnitOfWork, user: UserKey, writer: Writer) -> UserRecord:
    known = uow.events.users([user]).get(user)
    if known is None or not writer.may_write_for(user, known.owner):
        raise UnknownUser(user.user_id)
    return known


def _append(
    uow: SqlAlchemyUnitOfWork,
    user: UserKey,
    event_type: str,
    payload: dict[str, Any],
    at: datetime,
) -> Receipt:
    """Append an event of the service's own to the user's stream. Its body is not sealed: it
    holds no health data, and it must stay readable after an erasure."""
    event_id = str(uuid.uuid4())
    body = canonical_body(
        {
            "event_id": event_id,
            "type": event_type,
            "schema_version": 1,
            "user_id": user.user_id,
            "occurred_at": at,
            "source": {"kind": SYSTEM_SOURCE_KIND, "name": "traininglog"},
            "payload": payload,
        }
    )
    event = NewEvent(
        event_id=event_id,
        tenant=user.tenant,
        user_id=user.user_id,
        type=event_type,
        schema_version=1,
        occurred_at=at,
        body=body,
        body_hash=hashlib.sha256(body.encode()).hexdigest(),
    )
    version = uow.events.stream_heads([user]).get(user, 0) + 1
    (position,) = uow.events.append([RowToAppend(event, version, body)], at)
    return Receipt(Outcome.STORED, event_id, user.user_id, version, position)
