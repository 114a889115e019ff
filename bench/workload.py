"""Realistic events for every figure: the six 12-week scenario histories of the planner's domain
tests, each played and validated once, then cloned for as many users as a size needs.

Users train side by side, so the log interleaves them by `occurred_at`, the way a busy
traininglog stores them. Envelopes come in four shapes: as a client posts them (`documents`), as
`NewEventSchema` loads them (`validated`, what the service layer takes), as rows of the `events`
table (`rows`, for raw inserts and prefills: bodies sealed with their user's data key, as
`record_events` stores them, beside `user_rows`, the `users` rows holding those keys) and as the
store hands them out (`stored`, what the planner applies).
"""

import functools
import hashlib
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backtrack_shared.contracts import NewEventSchema, canonical_body
from traininglog.adapters.sealing import seal

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "tests" / "unit" / "planner_domain"
RECORDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
# The client application (tenant) every benchmark user belongs to: the bench's API key's client.
TENANT = "bench"


def key_id(user_id: str) -> str:
    """The id of a user's data key in traininglog's key store, fixed per user like the key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-data-key/{user_id}"))


def data_key(user_id: str) -> bytes:
    """A user's AES-256 data key for prefilled rows: fixed per user, so prefills are repeatable
    (the service draws a random one; the cost of sealing is the same)."""
    return hashlib.sha256(f"bench-data-key/{user_id}".encode()).digest()


@dataclass(frozen=True)
class Template:
    envelope: dict[str, Any]  # as NewEventSchema loads it
    body: str  # its canonical body, as the store keeps it
    stream_version: int


@functools.cache
def _templates() -> tuple[tuple[str, tuple[Template, ...]], ...]:
    """Each scenario played once and validated once: (name, its events in stream order)."""
    sys.path.insert(0, str(SCENARIO_DIR))
    from scenario_runner import all_names, load, play

    schema = NewEventSchema()
    played = []
    for name in all_names():
        history = play(load(name))
        templates = []
        for version, event in enumerate(history.events, start=1):
            loaded = schema.load(
                {
                    "event_id": event.event_id,
                    "type": event.type,
                    "schema_version": 1,
                    "user_id": event.user_id,
                    "occurred_at": event.occurred_at.isoformat(),
                    "source": dict(event.source),
                    "payload": dict(event.payload),
                }
            )
            templates.append(Template(loaded, canonical_body(loaded), version))
        played.append((name.removesuffix(".json").replace("_", "-"), tuple(templates)))
    return tuple(played)


def events_per_user() -> float:
    templates = _templates()
    return sum(len(events) for _, events in templates) / len(templates)


@dataclass(frozen=True)
class Clone:
    template: Template
    user_id: str
    event_id: str

    @property
    def body(self) -> str:
        # Canonical JSON has sorted keys and no spaces: swapping the two ids keeps it canonical.
        original = self.template.envelope
        return self.template.body.replace(
            f'"event_id":"{original["event_id"]}"', f'"event_id":"{self.event_id}"', 1
        ).replace(f'"user_id":"{original["user_id"]}"', f'"user_id":"{self.user_id}"', 1)


@dataclass(frozen=True)
class Workload:
    """`size` events of whole 12-week histories (the last user's cut short), interleaved."""

    clones: list[Clone]

    def __len__(self) -> int:
        return len(self.clones)

    @property
    def users(self) -> list[str]:
        return sorted({clone.user_id for clone in self.clones})

    def validated(self) -> list[dict[str, Any]]:
        """What `record_events` takes."""
        return [
            {**clone.template.envelope, "user_id": clone.user_id, "event_id": clone.event_id}
            for clone in self.clones
        ]

    def documents(self) -> Iterator[dict[str, Any]]:
        """As a client posts them."""
        for clone in self.clones:
            yield json.loads(clone.body)

    def user_rows(self) -> list[dict[str, Any]]:
        """Rows of traininglog's `users` table for the users of `rows()`: the tenant and the id
        of the data key their bodies are sealed with (`keys()`, for the key store). Without
        them the feed and the relay see no event."""
        return [
            {
                "user_id": user_id,
                "tenant": TENANT,
                "key_id": key_id(user_id),
                "created_at": RECORDED_AT,
                "erased_at": None,
            }
            for user_id in self.users
        ]

    def keys(self) -> dict[str, bytes]:
        """The key store's rows for the users of `rows()`: key id -> data key."""
        return {key_id(user_id): data_key(user_id) for user_id in self.users}

    def rows(self, first_position: int = 1) -> Iterator[dict[str, Any]]:
        """Rows of traininglog's `events` table, positions from `first_position` on: the hash of
        the canonical body and the body sealed with its user's key, as `record_events` stores
        them."""
        for index, clone in enumerate(self.clones):
            body = clone.body
            envelope = clone.template.envelope
            yield {
                "position": first_position + index,
                "event_id": clone.event_id,
                "tenant": TENANT,  # events are keyed by their owner (ids per client)
                "user_id": clone.user_id,
                "stream_version": clone.template.stream_version,
                "type": envelope["type"],
                "schema_version": envelope["schema_version"],
                "occurred_at": envelope["occurred_at"].astimezone(UTC),
                "recorded_at": RECORDED_AT,
                "body_hash": hashlib.sha256(body.encode()).hexdigest(),
                "body": seal(data_key(clone.user_id), clone.event_id, body),
            }

    def stored(self, first_position: int = 1) -> Iterator[dict[str, Any]]:
        """As traininglog's feed hands them out (and its relay publishes them)."""
        for index, clone in enumerate(self.clones):
            envelope = json.loads(clone.body)
            envelope["recorded_at"] = RECORDED_AT.isoformat()
            envelope["stream_version"] = clone.template.stream_version
            envelope["position"] = first_position + index
            envelope["tenant"] = TENANT
            yield envelope


@functools.cache
def workload(size: int, *, prefix: str = "u") -> Workload:
    """`size` events of users named `{prefix}{n}-{scenario}`; the same for the same arguments."""
    templates = _templates()
    keyed: list[tuple[datetime, int, Clone]] = []
    user = 0
    while len(keyed) < size:
        name, events = templates[user % len(templates)]
        user_id = f"{prefix}{user}-{name}"
        for template in events[: size - len(keyed)]:
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}/{template.stream_version}"))
            keyed.append(
                (template.envelope["occurred_at"], user, Clone(template, user_id, event_id))
            )
        user += 1
    keyed.sort(key=lambda item: (item[0], item[1]))
    return Workload([clone for _, _, clone in keyed])
