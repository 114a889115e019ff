"""What an import makes of each item of an export, and which records it supersedes. Pure.

An item is one record of the export: it becomes one envelope (a `workout.logged`, or a
`record.retracted` for a deletion), or it is rejected, naming the field. Event ids are derived
from the record's own id and version, so posting the same export twice stores nothing new.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backtrack_shared import catalogue

# Event ids of imported records: uuid5 under this namespace, of source, user, record, version.
IMPORT_NAMESPACE = uuid.UUID("5b0f1c4e-8d0a-4c59-9d0e-6b8a3f3c2d11")

SUPERSEDED = "superseded"
REJECTED = "rejected"


def import_event_id(source_name: str, user_id: str, *parts: object) -> str:
    return str(uuid.uuid5(IMPORT_NAMESPACE, "/".join(map(str, (source_name, user_id, *parts)))))


@dataclass(frozen=True)
class ImportItem:
    """One item of an export: what it is in the export (`ref`: the field that lists it and its
    index there, with the record's id and version) and the envelope it maps to, or why not."""

    ref: Mapping[str, Any]
    envelope: dict[str, Any] | None = None
    errors: Mapping[str, Any] = field(default_factory=dict)
    # Answered without storing anything (a version older than one stored, a deletion already
    # made): the status and what the answer adds.
    settled: tuple[str, Mapping[str, Any]] | None = None


@dataclass
class StoredRecord:
    """What the user's stream holds of one record of one source."""

    versions: dict[int, str] = field(default_factory=dict)  # record_version -> event id
    stream_versions: dict[int, int] = field(default_factory=dict)  # record_version -> its place
    retracted_at: int | None = None  # stream_version of the latest retraction by record id
    retraction_id: str | None = None

    @property
    def latest(self) -> int | None:
        return max(self.versions) if self.versions else None

    @property
    def retracted(self) -> bool:
        latest = self.latest
        return (
            latest is not None
            and self.retracted_at is not None
            and self.retracted_at > self.stream_versions[latest]
        )


def stored_records(
    stream: Iterable[Mapping[str, Any]], source_name: str
) -> dict[str, StoredRecord]:
    """The records of `source_name` in a user's stored events (envelopes in stream order)."""
    records: dict[str, StoredRecord] = {}
    for envelope in stream:
        source = envelope.get("source") or {}
        payload = envelope.get("payload") or {}
        if envelope.get("type") == "record.retracted":
            named = payload.get("source_name") or source.get("name")
            if payload.get("record_id") is not None and named == source_name:
                record = records.setdefault(str(payload["record_id"]), StoredRecord())
                record.retracted_at = int(envelope["stream_version"])
                record.retraction_id = str(envelope["event_id"])
            continue
        if source.get("name") != source_name or source.get("record_id") is None:
            continue
        record = records.setdefault(str(source["record_id"]), StoredRecord())
        version = int(source.get("record_version") or 0)
        record.versions[version] = str(envelope["event_id"])
        record.stream_versions[version] = int(envelope["stream_version"])
    return records


def supersede(items: Sequence[ImportItem], stored: Mapping[str, StoredRecord]) -> list[ImportItem]:
    """Settle the records an export holds in an older version than one stored (or than another
    item of the same export) as superseded: nothing is stored for them. The others go on to the
    store, which answers a repeat as a duplicate."""
    newest: dict[str, tuple[int, str]] = {}
    for record_id, record in stored.items():
        if record.latest is not None:
            newest[record_id] = (record.latest, record.versions[record.latest])
    for item in items:
        if item.envelope is None or item.envelope["type"] != "workout.logged":
            continue
        source = item.envelope["source"]
        version, record_id = int(source["record_version"]), str(source["record_id"])
        if version > newest.get(record_id, (-1, ""))[0]:
            newest[record_id] = (version, item.envelope["event_id"])
    settled = []
    for item in items:
        if item.envelope is not None and item.envelope["type"] == "workout.logged":
            source = item.envelope["source"]
            version, event_id = newest[str(source["record_id"])]
            if int(source["record_version"]) < version:
                item = ImportItem(item.ref, settled=(SUPERSEDED, {"superseded_by": event_id}))
        settled.append(item)
    return settled


def supersedes(item: ImportItem, stored: Mapping[str, StoredRecord]) -> list[str]:
    """The stored versions of the item's record that the item, once stored, supersedes."""
    if item.envelope is None or item.envelope["type"] != "workout.logged":
        return []
    source = item.envelope["source"]
    record = stored.get(str(source["record_id"]))
    if record is None:
        return []
    version = int(source["record_version"])
    return [record.versions[v] for v in sorted(record.versions) if v < version]


def with_items(
    stored: Mapping[str, StoredRecord], items: Sequence[ImportItem]
) -> dict[str, StoredRecord]:
    """The records `stored` holds and those the export's items add (stored after them all)."""
    known = {
        record_id: StoredRecord(
            dict(r.versions), dict(r.stream_versions), r.retracted_at, r.retraction_id
        )
        for record_id, r in stored.items()
    }
    after_all = 1 + max(
        [s for r in stored.values() for s in r.stream_versions.values()]
        + [r.retracted_at or 0 for r in stored.values()]
        + [0]
    )
    for item in items:
        if item.envelope is None or item.settled is not None:
            continue
        source = item.envelope["source"]
        record = known.setdefault(str(source["record_id"]), StoredRecord())
        version = int(source["record_version"])
        record.versions[version] = item.envelope["event_id"]
        record.stream_versions[version] = after_all
    return known


def exercise_entry(slug: str, sets: list[dict[str, Any]]) -> dict[str, Any]:
    """One exercise of a `workout.logged`, of the catalogue's kind for `slug`, done."""
    return {"exercise": slug, "kind": catalogue.EXERCISE_KIND[slug], "sets": sets, "completed": True}


def add_set(entries: list[dict[str, Any]], slug: str, one_set: dict[str, Any]) -> None:
    """Consecutive sets of one exercise are that exercise's sets; another starts a new entry."""
    if entries and entries[-1]["exercise"] == slug:
        entries[-1]["sets"].append(one_set)
    else:
        entries.append(exercise_entry(slug, [one_set]))
