"""Health Connect's ExerciseSessionRecords, as an Android app serialises them, to
`workout.logged` events; its deletions to `record.retracted`. Pure.

The accepted shape, field for field beside the names of Jetpack's
`androidx.health.connect.client.records.ExerciseSessionRecord` (README, "Imports"):

    records[].metadata.clientRecordId       -> source.record_id (else metadata.id)
    records[].metadata.clientRecordVersion  -> source.record_version (0 when absent)
    records[].startTime + startZoneOffset   -> occurred_at (the offset is required)
    records[].endTime                       -> payload.duration_min
    records[].exerciseType                  -> the exercise, when there are no segments
    records[].segments[].segmentType        -> payload.exercises[].exercise and kind
    records[].segments[].repetitions        -> sets[].reps
    records[].segments[].weight.inKilograms -> sets[].load_kg (an extension: Health Connect's
                                               ExerciseSegment holds no weight; apps may add it)
    records[].segments[] start to end       -> sets[].duration_min (cardio) or hold_s (holds)
    deletions[].clientRecordId (or recordId) -> record.retracted of that record
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from backtrack_shared import catalogue
from traininglog.domain.imports.items import (
    REJECTED,
    ImportItem,
    StoredRecord,
    add_set,
    exercise_entry,
    import_event_id,
)

SOURCE_NAME = "health-connect"
# Bump when a mapping changes: an answer names the table its events were mapped with.
MAPPING_VERSION = "health-connect/2026.12-1"

# ExerciseSegment.EXERCISE_SEGMENT_TYPE_* -> catalogue slug. Only what one catalogue exercise
# is; anything else is rejected by name (a crunch is not a bicycle crunch, "stretching" names
# no one stretch).
SEGMENT_TYPES: Mapping[int, str] = {
    2: "superman",  # BACK_EXTENSION: the prone back extension is the superman
    5: "chest_press",  # BENCH_PRESS
    24: "intervals",  # HIGH_INTENSITY_INTERVAL_TRAINING
    36: "lunge",  # LUNGE
    41: "plank",  # PLANK
    46: "steady_run",  # RUNNING
    47: "steady_run",  # RUNNING_TREADMILL
    51: "squat",  # SQUAT
    55: "swimming",  # SWIMMING_BACKSTROKE
    56: "swimming",  # SWIMMING_BREASTSTROKE
    57: "swimming",  # SWIMMING_BUTTERFLY
    58: "swimming",  # SWIMMING_FREESTYLE
    59: "swimming",  # SWIMMING_MIXED
    60: "swimming",  # SWIMMING_OPEN_WATER
    61: "swimming",  # SWIMMING_OTHER
    62: "swimming",  # SWIMMING_POOL
    64: "walking",  # WALKING
}
# PAUSE and REST: the time between sets, no exercise.
BETWEEN_SETS: frozenset[int] = frozenset({39, 44})
# ExerciseSessionRecord.EXERCISE_TYPE_* of a session logged without segments.
SESSION_TYPES: Mapping[int, str] = {
    37: "walking",  # HIKING
    56: "steady_run",  # RUNNING
    57: "steady_run",  # RUNNING_TREADMILL
    73: "swimming",  # SWIMMING_OPEN_WATER
    74: "swimming",  # SWIMMING_POOL
    79: "walking",  # WALKING
}
# Exercises whose sets are held rather than repeated, when a segment has no repetitions.
HELD: frozenset[str] = frozenset({"plank"})


class _Mass(Schema):
    inKilograms = fields.Float(required=True)


class _Segment(Schema):
    startTime = fields.AwareDateTime(required=True)
    endTime = fields.AwareDateTime(required=True)
    segmentType = fields.Integer(required=True, strict=True)
    repetitions = fields.Integer(strict=True, validate=validate.Range(min=0))
    weight = fields.Nested(_Mass)


class _DataOrigin(Schema):
    packageName = fields.String()


class _Metadata(Schema):
    id = fields.String(validate=validate.Length(min=1, max=256))
    clientRecordId = fields.String(validate=validate.Length(min=1, max=256))
    clientRecordVersion = fields.Integer(strict=True, validate=validate.Range(min=0))
    dataOrigin = fields.Nested(_DataOrigin)
    lastModifiedTime = fields.String()
    recordingMethod = fields.Integer()
    device = fields.Dict()


_OFFSET = validate.Regexp(r"^[+-](0\d|1[0-8]):[0-5]\d$|^Z$", error="Not a zone offset like +02:00.")


class _Session(Schema):
    metadata = fields.Nested(_Metadata, required=True)
    startTime = fields.AwareDateTime(required=True)
    startZoneOffset = fields.String(
        required=True,
        validate=_OFFSET,
        error_messages={"required": "Missing: the time zone offset sets the local calendar."},
    )
    endTime = fields.AwareDateTime(required=True)
    endZoneOffset = fields.String(validate=_OFFSET)
    exerciseType = fields.Integer(required=True, strict=True)
    title = fields.String()
    notes = fields.String()
    segments = fields.List(fields.Nested(_Segment), load_default=list)
    laps = fields.List(fields.Dict())


class _Deletion(Schema):
    clientRecordId = fields.String(validate=validate.Length(min=1, max=256))
    recordId = fields.String(validate=validate.Length(min=1, max=256))


def record_items(records: Sequence[Any], user_id: str) -> list[ImportItem]:
    """One item per ExerciseSessionRecord: its workout.logged envelope, or its errors."""
    return [_record_item(index, record, user_id) for index, record in enumerate(records)]


def _record_item(index: int, raw: Any, user_id: str) -> ImportItem:
    ref: dict[str, Any] = {"list": "records", "index": index}
    try:
        record = _Session().load(raw if isinstance(raw, dict) else {})
    except ValidationError as err:
        return ImportItem(ref, errors=_as_dict(err.messages))
    meta = record["metadata"]
    record_id = meta.get("clientRecordId") or meta.get("id")
    if record_id is None:
        return ImportItem(
            ref, errors={"metadata": {"clientRecordId": ["Missing, and so is metadata.id."]}}
        )
    version = int(meta.get("clientRecordVersion", 0))
    ref.update(record_id=record_id, record_version=version)
    exercises, errors = _exercises(record)
    if errors:
        return ImportItem(ref, errors=errors)
    start, end = record["startTime"], record["endTime"]
    if end < start:
        return ImportItem(ref, errors={"endTime": ["Lies before startTime."]})
    envelope = {
        "event_id": import_event_id(SOURCE_NAME, user_id, record_id, version),
        "type": "workout.logged",
        "user_id": user_id,
        "occurred_at": start.astimezone(_zone(record["startZoneOffset"])).isoformat(),
        "source": {
            "kind": "wearable",
            "name": SOURCE_NAME,
            "record_id": record_id,
            "record_version": version,
        },
        "payload": {
            "session_id": record_id[:128],
            "duration_min": _minutes(start, end),
            "exercises": exercises,
        },
    }
    return ImportItem(ref, envelope=envelope)


def _exercises(record: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    segments = record["segments"]
    if not segments:
        slug = SESSION_TYPES.get(record["exerciseType"])
        if slug is None:
            why = f"Exercise type {record['exerciseType']} names no one exercise: log segments."
            return [], {"exerciseType": [why]}
        minutes = _minutes(record["startTime"], record["endTime"])
        return [exercise_entry(slug, [{"duration_min": minutes}])], {}
    entries: list[dict[str, Any]] = []
    errors: dict[str, Any] = {}
    for index, segment in enumerate(segments):
        kind = segment["segmentType"]
        if kind in BETWEEN_SETS:
            continue
        slug = SEGMENT_TYPES.get(kind)
        if slug is None:
            errors[str(index)] = {
                "segmentType": [f"Segment type {kind} maps to no exercise ({MAPPING_VERSION})."]
            }
            continue
        one_set = _set(slug, segment)
        add_set(entries, slug, one_set)
    if errors:
        return [], {"segments": errors}
    if not entries:
        return [], {"segments": ["Only rests and pauses: no exercise to log."]}
    return entries, {}


def _set(slug: str, segment: Mapping[str, Any]) -> dict[str, Any]:
    seconds = (segment["endTime"] - segment["startTime"]).total_seconds()
    if catalogue.EXERCISE_KIND[slug] == "cardio":
        return {"duration_min": round(seconds / 60, 2)}
    one: dict[str, Any] = {}
    if segment.get("repetitions"):
        one["reps"] = segment["repetitions"]
    elif slug in HELD:
        one["hold_s"] = round(seconds, 1)
    else:
        one["duration_min"] = round(seconds / 60, 2)
    if segment.get("weight"):
        one["load_kg"] = segment["weight"]["inKilograms"]
    return one



def deletion_items(
    deletions: Sequence[Any],
    user_id: str,
    known: Mapping[str, StoredRecord],
    now: datetime,
) -> list[ImportItem]:
    """One record.retracted per deletion of a record imported before (or in this export)."""
    items = []
    for index, raw in enumerate(deletions):
        ref: dict[str, Any] = {"list": "deletions", "index": index}
        try:
            deletion = _Deletion().load(raw if isinstance(raw, dict) else {})
        except ValidationError as err:
            items.append(ImportItem(ref, errors=_as_dict(err.messages)))
            continue
        record_id = deletion.get("clientRecordId") or deletion.get("recordId")
        if record_id is None:
            why = ["Name the deleted record: clientRecordId, or recordId (metadata.id)."]
            items.append(ImportItem(ref, errors={"clientRecordId": why}))
            continue
        ref["record_id"] = record_id
        record = known.get(record_id)
        if record is None or record.latest is None:
            why = ["No record of this id was imported for this user: nothing to take back."]
            items.append(ImportItem(ref, errors={"clientRecordId": why}))
            continue
        if record.retracted:
            items.append(ImportItem(ref, settled=("duplicate", {"event_id": record.retraction_id})))
            continue
        envelope = {
            "event_id": import_event_id(SOURCE_NAME, user_id, record_id, record.latest, "deleted"),
            "type": "record.retracted",
            "user_id": user_id,
            "occurred_at": now.astimezone(UTC).isoformat(),
            "source": {"kind": "wearable", "name": SOURCE_NAME},
            "payload": {"record_id": record_id, "reason": "Deleted in Health Connect."},
        }
        items.append(ImportItem(ref, envelope=envelope))
    return items


def _zone(offset: str) -> timezone:
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 2)


def _as_dict(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {"_schema": messages}


__all__ = ["MAPPING_VERSION", "REJECTED", "SOURCE_NAME", "deletion_items", "record_items"]
