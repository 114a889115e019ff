"""A user's logged events as the progression rules see them: plain values, no I/O."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LoggedEvent:
    event_id: str
    type: str
    user_id: str
    occurred_at: datetime  # aware; the offset is the user's local calendar at the time
    stream_version: int
    position: int
    source: Mapping[str, Any]  # kind, name, and record_id / record_version for re-synced records
    payload: Mapping[str, Any]  # already upcast to the latest schema version of its type
    tenant: str = ""  # the client that owns the user: a user id is each client's own


def history_order(event: LoggedEvent) -> tuple[datetime, int, str]:
    """The one order of a user's history: occurred_at, ties by stream_version (then event id,
    so that the order never depends on how events arrived)."""
    return (event.occurred_at, event.stream_version, event.event_id)


# A client's take-back of a record it sent (contracts: `record.retracted`).
RECORD_RETRACTED = "record.retracted"
# What the history keeps of a pain report that named red flags and was taken back (retracted, or
# replaced by a newer version of its record without them): the flags alone, at the report's
# instant. Made here, never logged: neither a retraction nor a correction lifts a pause (R6),
# only a clinician's review does.
RETAINED_RED_FLAGS = "red_flags.retained"


def record_key(event: LoggedEvent) -> tuple[str, str] | None:
    """(source name, source.record_id) of a re-synced record; None for an event without one."""
    record_id = event.source.get("record_id")
    if record_id is None:
        return None
    return (str(event.source.get("name", "")), str(record_id))


@dataclass(frozen=True)
class Retractions:
    """The retractions in a user's history: which events they take back."""

    event_ids: dict[str, LoggedEvent]  # event id taken back -> the retraction
    records: dict[tuple[str, str], list[LoggedEvent]]  # record key -> retractions naming it

    @classmethod
    def of(cls, events: Iterable[LoggedEvent]) -> "Retractions":
        event_ids: dict[str, LoggedEvent] = {}
        records: dict[tuple[str, str], list[LoggedEvent]] = {}
        for event in events:
            if event.type != RECORD_RETRACTED:
                continue
            target = event.payload
            if target.get("event_id"):
                event_ids.setdefault(str(target["event_id"]), event)
            elif target.get("record_id"):
                source = str(target.get("source_name") or event.source.get("name", ""))
                records.setdefault((source, str(target["record_id"])), []).append(event)
        return cls(event_ids, records)

    def taking_back(self, event: LoggedEvent) -> LoggedEvent | None:
        """The retraction that takes `event` back, or None. By event id, the event whatever
        came before or after; by record id, every version of the record stored before the
        retraction (a version stored after it brings the record back). A retraction itself is
        never taken back."""
        if event.type == RECORD_RETRACTED:
            return None
        by_id = self.event_ids.get(event.event_id)
        if by_id is not None:
            return by_id
        key = record_key(event)
        for retraction in self.records.get(key, ()) if key is not None else ():
            if retraction.stream_version > event.stream_version:
                return retraction
        return None

    def __bool__(self) -> bool:
        return bool(self.event_ids or self.records)


def as_if_never_sent(events: Iterable[LoggedEvent]) -> list[LoggedEvent]:
    """The events with every retracted record (and the retractions) left out, as if the
    records had never been sent; a retracted pain report's red flags stay, at its instant."""
    events = list(events)
    retractions = Retractions.of(events)
    kept: list[LoggedEvent] = []
    for event in events:
        if event.type == RECORD_RETRACTED:
            continue
        retraction = retractions.taking_back(event)
        if retraction is None:
            kept.append(event)
        elif (retained := red_flags_kept(event, retraction)) is not None:
            kept.append(retained)
    return kept


def red_flags_kept(report: LoggedEvent, taken_back_by: LoggedEvent) -> LoggedEvent | None:
    """The red flags of a pain report that `taken_back_by` takes back (a retraction, or a newer
    version of its record), those the newer version does not name again; None if none is left."""
    if report.type != "pain.reported":
        return None
    named_again = (
        set(taken_back_by.payload.get("red_flags") or ())
        if taken_back_by.type == "pain.reported"
        else set()
    )
    flags = [flag for flag in report.payload.get("red_flags") or () if flag not in named_again]
    if not flags:
        return None
    return replace(
        report,
        type=RETAINED_RED_FLAGS,
        source={"kind": report.source.get("kind", ""), "name": report.source.get("name", "")},
        payload={"red_flags": flags, "taken_back_by": taken_back_by.event_id},
    )
