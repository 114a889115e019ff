"""Deciding what an append does, given what the store already holds. Pure: no I/O.

An event id is the client's idempotency key: the same id with the same body is answered as the
first time and stored once; the same id with another body is a conflict. New events get the next
versions of their user's stream, in the order they were given.

A user belongs to the client application (the tenant) that first wrote for them; an operator
may grant other clients access too. Any other client's write for that user is answered as if
the user did not exist (OWASP API1: never say whose it is); a write for a user who was erased
is refused.
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    user_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    body: str  # canonical JSON of what the client sent
    body_hash: str


@dataclass(frozen=True)
class StoredRef:
    event_id: str
    user_id: str
    stream_version: int
    position: int
    body_hash: str


@dataclass(frozen=True)
class Owner:
    tenant: str
    erased: bool = False
    grantees: frozenset[str] = frozenset()  # other clients an operator let in


@dataclass(frozen=True)
class Writer:
    """Who appends: their tenant, and whether they may write for every user (an operator)."""

    tenant: str
    every_user: bool = False

    def may_write_for(self, owner: Owner | None) -> bool:
        return (
            owner is None
            or self.every_user
            or owner.tenant == self.tenant
            or self.tenant in owner.grantees
        )


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"  # another tenant's user
    ERASED = "erased"


@dataclass(frozen=True)
class Decision:
    event: NewEvent
    outcome: Outcome
    stream_version: int | None  # the version to write (STORED) or already written (DUPLICATE)
    existing: StoredRef | None = None
    writer: Writer | None = None  # who stores it (STORED): a new user becomes their tenant's


def decide_append(
    new_events: Sequence[NewEvent],
    already_stored: Mapping[str, StoredRef],
    stream_heads: Mapping[str, int],
    *,
    writers: Sequence[Writer],
    owners: Mapping[str, Owner],
) -> list[Decision]:
    """One decision per new event, in order; `writers[i]` sent `new_events[i]` (one append may
    gather several clients' requests). Repeats inside one batch count as retries too, and the
    first writer for a new user makes the user theirs for the rest of the batch as well."""
    heads = dict(stream_heads)
    owners = dict(owners)
    accepted: dict[str, tuple[str, int]] = {}  # event_id -> (body_hash, stream_version)
    decisions = []
    for event, writer in zip(new_events, writers, strict=True):
        owner = owners.get(event.user_id)
        stored = already_stored.get(event.event_id)
        if not writer.may_write_for(owner):
            decisions.append(Decision(event, Outcome.NOT_FOUND, None))
        elif owner is not None and owner.erased:
            decisions.append(Decision(event, Outcome.ERASED, None))
        elif stored is not None:
            outcome = Outcome.DUPLICATE if stored.body_hash == event.body_hash else Outcome.CONFLICT
            decisions.append(Decision(event, outcome, stored.stream_version, stored))
        elif event.event_id in accepted:
            body_hash, version = accepted[event.event_id]
            outcome = Outcome.DUPLICATE if body_hash == event.body_hash else Outcome.CONFLICT
            decisions.append(Decision(event, outcome, version))
        else:
            version = heads.get(event.user_id, 0) + 1
            heads[event.user_id] = version
            accepted[event.event_id] = (event.body_hash, version)
            owners.setdefault(event.user_id, Owner(writer.tenant))
            decisions.append(Decision(event, Outcome.STORED, version, writer=writer))
    return decisions
