"""Deciding what an append does, given what the store already holds. Pure: no I/O.

An event id is the client's idempotency key: the same id with the same body is answered as the
first time and stored once; the same id with another body is a conflict. New events get the next
versions of their user's stream, in the order they were given.

A user id and an event id are the owning client's own: a user is keyed by (tenant, user_id),
and an event id is deduplicated among its tenant's events only, so one client's ids never block
or reveal another's. A client writes for its own users, or for another client's user it was
granted (naming the owner); an operator for anyone's. Any other write is answered as if the user
did not exist (OWASP API1: never say whose it is); a write for a user who was erased is refused.
A conflict tells the stored event's place only when it is of the same user, which the writer
may see.
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from backtrack_shared.user_key import UserKey

EventKey = tuple[str, str]  # (tenant, event_id): event ids are deduplicated per owning client


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    tenant: str  # the client that owns the user
    user_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    body: str  # canonical JSON of what the client sent
    body_hash: str

    @property
    def user(self) -> UserKey:
        return UserKey(self.tenant, self.user_id)

    @property
    def key(self) -> EventKey:
        return (self.tenant, self.event_id)


@dataclass(frozen=True)
class StoredRef:
    event_id: str
    tenant: str
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
    """Who appends: their tenant, whether they may write for every user (an operator), and
    whose users the request addresses (`owner`; None: the writer's own)."""

    tenant: str
    every_user: bool = False
    owner: str | None = None

    @property
    def addressed(self) -> str:
        """The tenant whose users this writer's events are for."""
        return self.owner or self.tenant

    def may_write_for(self, user: UserKey, owner: Owner | None) -> bool:
        """Whether this writer may write for `user` (`owner`: who holds them, None if nobody
        wrote for them yet): a new user only in its own namespace, unless an operator."""
        if self.every_user or user.tenant == self.tenant:
            return True
        return owner is not None and self.tenant in owner.grantees


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
    already_stored: Mapping[EventKey, StoredRef],
    stream_heads: Mapping[UserKey, int],
    *,
    writers: Sequence[Writer],
    owners: Mapping[UserKey, Owner],
) -> list[Decision]:
    """One decision per new event, in order; `writers[i]` sent `new_events[i]` (one append may
    gather several clients' requests). Repeats inside one batch count as retries too, and the
    first event for a new user makes the user their tenant's for the rest of the batch as well."""
    heads = dict(stream_heads)
    owners = dict(owners)
    # (tenant, event_id) -> (body_hash, stream_version, user_id)
    accepted: dict[EventKey, tuple[str, int, str]] = {}
    decisions = []
    for event, writer in zip(new_events, writers, strict=True):
        owner = owners.get(event.user)
        stored = already_stored.get(event.key)
        if not writer.may_write_for(event.user, owner):
            decisions.append(Decision(event, Outcome.NOT_FOUND, None))
        elif owner is not None and owner.erased:
            decisions.append(Decision(event, Outcome.ERASED, None))
        elif stored is not None:
            if stored.body_hash == event.body_hash:  # the body names the user: the same one
                decisions.append(Decision(event, Outcome.DUPLICATE, stored.stream_version, stored))
            elif stored.user_id == event.user_id:
                decisions.append(Decision(event, Outcome.CONFLICT, stored.stream_version, stored))
            else:  # another user of the tenant's, whom this writer may not see
                decisions.append(Decision(event, Outcome.CONFLICT, None))
        elif event.key in accepted:
            body_hash, version, user_id = accepted[event.key]
            if body_hash == event.body_hash:
                decisions.append(Decision(event, Outcome.DUPLICATE, version))
            else:
                same_user = user_id == event.user_id
                decisions.append(Decision(event, Outcome.CONFLICT, version if same_user else None))
        else:
            version = heads.get(event.user, 0) + 1
            heads[event.user] = version
            accepted[event.key] = (event.body_hash, version, event.user_id)
            owners.setdefault(event.user, Owner(event.tenant))
            decisions.append(Decision(event, Outcome.STORED, version, writer=writer))
    return decisions
