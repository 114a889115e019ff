"""The OpenAPI shape of an event a client posts: one variant per type (and schema version),
`oneOf` discriminated by `type`, each with its payload's own schema, so that a generated client
has a class per event and a generator makes only envelopes the service may take.

The marshmallow `NewEventSchema` validates; this only documents it, from the same payload
schemas (registered as `*Payload` components) and the same choices.
"""

import copy
import zoneinfo
from typing import Any

from apispec import APISpec

from backtrack_shared import catalogue
from backtrack_shared.contracts.limits import (
    MAX_RED_FLAGS,
    WORKOUT_DURATION_MIN,
    WORKOUT_MINUTES_ROUNDING_MIN,
    WORKOUT_MINUTES_SLACK,
    goal_target_limit,
)
from backtrack_shared.contracts.registry import LATEST_VERSIONS, payload_versions

# The README's first request: what POST /v1/events is shown with.
EVENT_EXAMPLE = {
    "event_id": "6f1c9a52-3d0e-4d8b-9a52-0c1f2e3d4a01",
    "type": "baseline.assessed",
    "user_id": "ana",
    "occurred_at": "2026-09-01T08:00:00+02:00",
    "source": {"kind": "app", "name": "backtrack-demo"},
    "payload": {"walk_min": 20, "plank_s": 25, "pain_at_rest": 2, "flexibility": "fair"},
}
# The README's batch: a workout and a pain report.
BATCH_EXAMPLE = {
    "events": [
        {
            "event_id": "6f1c9a52-3d0e-4d8b-9a52-0c1f2e3d4a02",
            "type": "workout.logged",
            "user_id": "ana",
            "occurred_at": "2026-09-02T18:30:00+02:00",
            "source": {"kind": "wearable", "name": "demo-watch"},
            "payload": {
                "session_id": "s1",
                "duration_min": 35,
                "exercises": [
                    {
                        "exercise": "walking",
                        "kind": "cardio",
                        "sets": [{"duration_min": 10}],
                        "completed": True,
                        "rpe": 3,
                    },
                    {
                        "exercise": "cat_cow",
                        "kind": "stretch",
                        "sets": [{"hold_s": 30}],
                        "completed": True,
                    },
                ],
            },
        },
        {
            "event_id": "6f1c9a52-3d0e-4d8b-9a52-0c1f2e3d4a03",
            "type": "pain.reported",
            "user_id": "ana",
            "occurred_at": "2026-09-02T19:00:00+02:00",
            "source": {"kind": "app", "name": "backtrack-demo"},
            "payload": {"score": 2, "timing": "after", "location": "lower back"},
        },
    ]
}


# An occurred_at as NewEventSchema takes it, as far as a pattern says it: not before the year
# 2000 (EARLIEST_INSTANT, 2000-01-01 UTC), written from 2000-01-02 on so that no offset puts it
# before that instant. The other bound moves with the service's clock (at most MAX_FUTURE_SKEW
# ahead): the description says it.
OCCURRED_AT_PATTERN = (
    r"^(2000-01-(0[2-9]|[12][0-9]|3[01])|2000-(0[2-9]|1[0-2])"
    r"|200[1-9]|20[1-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})"
)
OCCURRED_AT = {
    "type": "string",
    "format": "date-time",
    "pattern": OCCURRED_AT_PATTERN,
    "description": "RFC 3339 with an offset: when it happened on the device. From 2000-01-02 "
    "on, and at most 24 hours ahead of the service's clock; anything else answers 422.",
}


def _name(event_type: str) -> str:
    return "".join(part.title() for part in event_type.replace(".", "_").split("_"))


def payload_component(event_type: str, version: int) -> str:
    latest = version == LATEST_VERSIONS[event_type]
    return f"{_name(event_type)}{'' if latest else f'V{version}'}Payload"


def document_new_events(spec: APISpec) -> None:
    """Replace the `NewEvent` component (a bare envelope, its payload any object) with a
    `oneOf` of one envelope per event type. A batch's items stay any object: each is answered
    on its own (`rejected` in a 200), never by refusing the batch."""
    schemas = spec.components.schemas
    envelope = schemas["NewEvent"]
    source = copy.deepcopy(schemas["Source"])
    source["properties"]["kind"]["enum"] = [
        kind for kind in catalogue.SOURCE_KINDS if kind != catalogue.SYSTEM_SOURCE_KIND
    ]
    spec.components.schema("ClientSource", component=source)
    versions: dict[str, list[int]] = {}
    for event_type, version, _ in payload_versions():
        versions.setdefault(event_type, []).append(version)
    mapping = {}
    for event_type, numbers in sorted(versions.items()):
        variants = []
        for version in numbers:
            properties = {
                **envelope["properties"],
                "occurred_at": OCCURRED_AT,
                "type": {"type": "string", "enum": [event_type]},
                "schema_version": {"type": "integer", "enum": [version]},
                "source": {"$ref": "#/components/schemas/ClientSource"},
                "payload": {
                    "$ref": f"#/components/schemas/{payload_component(event_type, version)}"
                },
            }
            if version == 1:  # what an envelope without schema_version is read as
                properties["schema_version"] = {**properties["schema_version"], "default": 1}
            required = list(envelope["required"])
            if version != 1:
                required.append("schema_version")
            name = f"{_name(event_type)}V{version}Event"
            spec.components.schema(
                name,
                component={
                    "type": "object",
                    "description": f"A {event_type} event, payload version {version}.",
                    "properties": properties,
                    "required": sorted(required),
                    "additionalProperties": False,
                },
            )
            variants.append(name)
        per_type = f"{_name(event_type)}Event"
        if len(variants) == 1:
            per_type = variants[0]
        else:
            spec.components.schema(
                per_type,
                component={
                    "description": f"A {event_type} event, of any payload version it has.",
                    "oneOf": [{"$ref": f"#/components/schemas/{v}"} for v in variants],
                },
            )
        mapping[event_type] = f"#/components/schemas/{per_type}"
    schemas["NewEvent"] = {
        "description": "One event envelope: its `type` names its payload's schema.",
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
        "example": EVENT_EXAMPLE,
    }
    schemas["BatchRequest"]["example"] = BATCH_EXAMPLE
    _document_payload_rules(schemas)
    # What `kind_of_the_exercise` checks: each exercise is logged as one of its own kinds.
    schemas["ExerciseEntry"]["anyOf"] = [
        {
            "properties": {
                "kind": {"enum": [kind]},
                "exercise": {
                    "enum": [e for e in catalogue.EXERCISES if kind in catalogue.kinds_of(e)]
                },
            }
        }
        for kind in catalogue.EXERCISE_KINDS
        if any(kind in catalogue.kinds_of(e) for e in catalogue.EXERCISES)
    ]


def _document_payload_rules(schemas: dict[str, Any]) -> None:
    """What the payload schemas check beyond single fields (their validators), as far as a
    schema says it; what no schema says (the sets' minutes within the workout's) is in words."""
    # SetSchema._not_empty: one of its four measures at least.
    schemas["Set"]["minProperties"] = 1
    # plausible.each_once: each red flag once, and so at most as many as there are.
    for name in ("PainReportedV1Payload", "PainReportedPayload"):
        schemas[name]["properties"]["red_flags"].update(uniqueItems=True, maxItems=MAX_RED_FLAGS)
    # plausible.iana_time_zone: a zone this service's time zone database knows. A pattern rather
    # than an enum: generators make a constant of each choice, and GMT+0, GMT-0 and GMT0 clash.
    zones = "|".join(zone.replace("+", r"\+") for zone in sorted(zoneinfo.available_timezones()))
    schemas["BaselineAssessedPayload"]["properties"]["time_zone"] = {
        "type": "string",
        "pattern": f"^({zones})$",
        "description": "An IANA time zone this service knows, such as Europe/Madrid.",
    }
    # plausible.goal_target: a target no body exceeds, for its metric and period.
    schemas["GoalSetPayload"]["anyOf"] = [
        {
            "properties": {
                "metric": {"enum": [metric]},
                "period": {"enum": [period]},
                "target": {"maximum": goal_target_limit(metric, period)},
            }
        }
        for metric in catalogue.GOAL_METRICS
        for period in catalogue.GOAL_PERIODS
    ]
    # RecordRetractedV1._names_one_record: by event_id or by record_id (and its source_name).
    schemas["RecordRetractedPayload"]["oneOf"] = [
        {
            "required": ["event_id"],
            "not": {"anyOf": [{"required": ["record_id"]}, {"required": ["source_name"]}]},
        },
        {"required": ["record_id"], "not": {"required": ["event_id"]}},
    ]
    # plausible.minutes_fit_the_session, which no schema can sum up.
    schemas["WorkoutLoggedPayload"]["description"] = (
        "The sets' own minutes (duration_min, and hold_s in minutes) add up to at most the "
        f"workout's duration_min times {WORKOUT_MINUTES_SLACK:g} + {WORKOUT_MINUTES_ROUNDING_MIN:g} "
        f"(at most {WORKOUT_DURATION_MIN.maximum:g} without one): more answers 422."
    )
