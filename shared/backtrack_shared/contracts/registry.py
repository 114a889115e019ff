"""Which schema validates which (type, schema_version), and how old versions are read as new ones.

Stored events are never rewritten: an event of an older version is upcast when it is read.
"""

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema

from backtrack_shared.contracts import payloads_v1, payloads_v2

_SCHEMAS: Mapping[tuple[str, int], type[Schema]] = {
    ("workout.logged", 1): payloads_v1.WorkoutLoggedV1,
    ("pain.reported", 1): payloads_v1.PainReportedV1,
    ("pain.reported", 2): payloads_v2.PainReportedV2,
    ("baseline.assessed", 1): payloads_v1.BaselineAssessedV1,
    ("goal.set", 1): payloads_v1.GoalSetV1,
    ("recovery.logged", 1): payloads_v1.RecoveryLoggedV1,
    ("clearance.recorded", 1): payloads_v1.ClearanceRecordedV1,
    ("record.retracted", 1): payloads_v1.RecordRetractedV1,
    ("user.erased", 1): payloads_v1.UserErasedV1,
    ("access.granted", 1): payloads_v1.AccessChangedV1,
    ("access.revoked", 1): payloads_v1.AccessChangedV1,
}

# A client's take-back of a record it sent (by event id, or by source.record_id).
RECORD_RETRACTED = "record.retracted"

# Written by the services themselves, never posted by a client, never folded by the rules.
USER_ERASED = "user.erased"
ACCESS_GRANTED = "access.granted"
ACCESS_REVOKED = "access.revoked"
ACCESS_EVENT_TYPES: tuple[str, ...] = (ACCESS_GRANTED, ACCESS_REVOKED)
SYSTEM_EVENT_TYPES: tuple[str, ...] = (USER_ERASED, *ACCESS_EVENT_TYPES)


def payload_versions() -> list[tuple[str, int, type[Schema]]]:
    """Every (type, version, schema) a client may post, for the OpenAPI document."""
    return [
        (event_type, version, schema)
        for (event_type, version), schema in sorted(_SCHEMAS.items())
        if event_type not in SYSTEM_EVENT_TYPES
    ]


def every_payload_version() -> list[tuple[str, int, type[Schema]]]:
    """Every (type, version, schema), the services' own types too: what the broker carries."""
    return [(t, v, schema) for (t, v), schema in sorted(_SCHEMAS.items())]


EVENT_TYPES: tuple[str, ...] = tuple(sorted({event_type for event_type, _ in _SCHEMAS}))
CLIENT_EVENT_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t not in SYSTEM_EVENT_TYPES)
LATEST_VERSIONS: Mapping[str, int] = {
    event_type: max(v for t, v in _SCHEMAS if t == event_type) for event_type in EVENT_TYPES
}

Payload = dict[str, Any]
# (type, from_version) -> function giving the payload of version from_version + 1.
_UPCASTERS: Mapping[tuple[str, int], Callable[[Payload], Payload]] = {
    ("pain.reported", 1): payloads_v2.pain_reported_v1_to_v2,
}


def payload_schema(event_type: str, schema_version: int) -> type[Schema] | None:
    return _SCHEMAS.get((event_type, schema_version))


def upcast(event_type: str, schema_version: int, payload: Payload) -> tuple[int, Payload]:
    """Return the payload as the latest version of its type reads it."""
    version = schema_version
    while (event_type, version) in _UPCASTERS:
        payload = _UPCASTERS[(event_type, version)](payload)
        version += 1
    return version, payload
