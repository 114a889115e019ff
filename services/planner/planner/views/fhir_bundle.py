"""A user's history as a FHIR R4 (4.0.1) Bundle for a clinic's record system. Pure.

- the user: a Patient, identified by the owning client and the id that client gave them;
- each pain report: an Observation, LOINC 72514-3 (0-10 pain severity), its timing a component;
- each routine version: a CarePlan (the latest `active`, or `on-hold` while paused; earlier
  ones `revoked`, each replacing the one before) with one ServiceRequest per prescription: the
  dose in `occurrenceTiming` (sets as `count`, a hold or cardio minutes as `duration`, sessions a
  week as `frequency` per week) and `quantityQuantity` (reps; else kilograms), the block as
  `category`;
- each routine version's Provenance: the rules that changed it (`reason`, `policy` the rules
  version) and the events that caused it (`entity`: the pain report's Observation where there is
  one, else the event id as an identifier).

Resource ids are UUIDs derived from the user and what they stand for, so the same history
always gives the same Bundle.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from backtrack_shared.user_key import UserKey
from planner.domain.history import LoggedEvent
from planner.views.page_model import dose_text, words

JSON = dict[str, Any]

LOINC = "http://loinc.org"
PAIN_SEVERITY = "72514-3"
PAIN_SEVERITY_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
UCUM = "http://unitsofmeasure.org"
EVENT_ID_SYSTEM = "urn:backtrack:event-id"
RULE_SYSTEM = "urn:backtrack:rule"
EXERCISE_SYSTEM = "urn:backtrack:exercise"
BLOCK_SYSTEM = "urn:backtrack:block"
PAIN_TIMING_SYSTEM = "urn:backtrack:pain-timing"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_NAMESPACE = uuid.UUID("0b7c5f0e-61a4-4c1e-9d0e-7a3f9f2f4b11")

TIMING_WORDS = {
    "during": "During exercise",
    "after": "Just after exercise",
    "24h_after": "24 hours after exercise",
    "next_morning": "The next morning",
    "rest": "At rest",
}


def _id(user: UserKey, *parts: object) -> str:
    return str(
        uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in (user.tenant, user.user_id, *parts)))
    )


def _ref(resource: JSON) -> JSON:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _entry(resource: JSON) -> JSON:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def patient(user: UserKey) -> JSON:
    return {
        "resourceType": "Patient",
        "id": _id(user, "patient"),
        "identifier": [{"system": f"urn:backtrack:client:{user.tenant}", "value": user.user_id}],
    }


def pain_observation(user: UserKey, event: LoggedEvent, subject: JSON) -> JSON:
    payload = event.payload
    timing = str(payload["timing"])
    observation: JSON = {
        "resourceType": "Observation",
        "id": _id(user, "event", event.event_id),
        "identifier": [{"system": EVENT_ID_SYSTEM, "value": event.event_id}],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": PAIN_SEVERITY, "display": PAIN_SEVERITY_DISPLAY}],
            "text": "Pain severity (0-10)",
        },
        "subject": _ref(subject),
        "effectiveDateTime": event.occurred_at.isoformat(),
        "valueInteger": int(payload["score"]),
        "component": [
            {
                "code": {"text": "When the pain was felt"},
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": PAIN_TIMING_SYSTEM,
                            "code": timing,
                            "display": TIMING_WORDS.get(timing, timing),
                        }
                    ],
                    "text": TIMING_WORDS.get(timing, timing),
                },
            }
        ],
    }
    if payload.get("location"):
        observation["bodySite"] = {"text": str(payload["location"])}
    notes = [f"Exercise: {words(str(payload['exercise']))}"] if payload.get("exercise") else []
    if payload.get("red_flags"):
        notes.append("Red flags reported: " + ", ".join(map(str, payload["red_flags"])))
    if notes:
        observation["note"] = [{"text": n} for n in notes]
    return observation


def _timing(dose: Mapping[str, Any]) -> JSON:
    repeat: JSON = {}
    if dose.get("sets") is not None:
        repeat["count"] = int(dose["sets"])
    if dose.get("hold_s") is not None:
        repeat["duration"] = float(dose["hold_s"])
        repeat["durationUnit"] = "s"
    elif dose.get("duration_min") is not None:
        repeat["duration"] = float(dose["duration_min"])
        repeat["durationUnit"] = "min"
    elif dose.get("interval"):
        interval = dose["interval"]
        repeat["count"] = int(interval["rounds"])
        repeat["duration"] = float(interval["hard_min"]) + float(interval["easy_min"])
        repeat["durationUnit"] = "min"
    if dose.get("sessions_per_week") is not None:
        repeat.update(frequency=int(dose["sessions_per_week"]), period=1, periodUnit="wk")
    return {"repeat": repeat} if repeat else {"code": {"text": "each session"}}


def _quantity(dose: Mapping[str, Any]) -> JSON | None:
    if dose.get("reps") is not None:
        return {"value": dose["reps"], "unit": "repetitions", "system": UCUM, "code": "{reps}"}
    if dose.get("load_kg") is not None:
        return {"value": dose["load_kg"], "unit": "kg", "system": UCUM, "code": "kg"}
    return None


def service_request(
    user: UserKey,
    version: int,
    block: str,
    rx: Mapping[str, Any],
    status: str,
    refs: Mapping[str, JSON],
) -> JSON:
    dose = rx["dose"]
    last = rx["last_change"]
    request: JSON = {
        "resourceType": "ServiceRequest",
        "id": _id(user, "routine", version, block, rx["exercise"]),
        "status": status,
        "intent": "plan",
        "category": [{"coding": [{"system": BLOCK_SYSTEM, "code": block}], "text": words(block)}],
        "code": {
            "coding": [
                {
                    "system": EXERCISE_SYSTEM,
                    "code": rx["exercise"],
                    "display": words(rx["exercise"]),
                }
            ],
            "text": words(rx.get("variation") or rx["exercise"]),
        },
        "subject": refs["patient"],
        "basedOn": [refs["careplan"]],
        "occurrenceTiming": _timing(dose),
        "authoredOn": last["at"],
        "reasonCode": [
            {"coding": [{"system": RULE_SYSTEM, "code": last["rule"]}], "text": last["reason"]}
        ],
        "patientInstruction": dose_text(dose),
    }
    quantity = _quantity(dose)
    if quantity is not None:
        request["quantityQuantity"] = quantity
    if dose.get("load_kg") is not None and dose.get("reps") is not None:
        request["orderDetail"] = [
            {
                "coding": [{"system": UCUM, "code": "kg"}],
                "text": f"{dose['load_kg']} kg external load",
            }
        ]
    return request


def _status(is_latest: bool, paused: bool) -> tuple[str, str]:
    """(CarePlan status, ServiceRequest status) of a routine version."""
    if not is_latest:
        return "revoked", "revoked"
    return ("on-hold", "on-hold") if paused else ("active", "active")


def bundle(
    user: UserKey, events: Sequence[LoggedEvent], versions: Sequence[Mapping[str, Any]]
) -> JSON:
    """The Bundle (type `collection`) of everything the planner holds of the user; no entry at
    all when it holds nothing (after an erasure)."""
    if not events and not versions:
        return {
            "resourceType": "Bundle",
            "id": _id(user, "bundle"),
            "type": "collection",
            "entry": [],
        }
    subject = patient(user)
    resources: list[JSON] = [subject]
    observations: dict[str, JSON] = {}
    for event in events:
        if event.type == "pain.reported":
            observation = pain_observation(user, event, subject)
            observations[event.event_id] = observation
            resources.append(observation)
    known = {e.event_id: e for e in events}
    ordered = sorted(versions, key=lambda v: v["version"])
    previous: JSON | None = None
    for index, version in enumerate(ordered):
        number = int(version["version"])
        routine = version["routine"]
        paused = routine.get("status") == "paused"
        plan_status, request_status = _status(index == len(ordered) - 1, paused)
        careplan: JSON = {
            "resourceType": "CarePlan",
            "id": _id(user, "routine", number),
            "identifier": [
                {
                    "system": f"urn:backtrack:routine-version:{user.tenant}:{user.user_id}",
                    "value": str(number),
                }
            ],
            "status": plan_status,
            "intent": "plan",
            "title": f"Back-pain exercise routine, version {number}",
            "description": f"Made by Backtrack's planner under rules {version['rules_version']}.",
            "subject": _ref(subject),
            "created": version["as_of"],
            "period": {"start": version["as_of"]},
        }
        if index + 1 < len(ordered):
            careplan["period"]["end"] = ordered[index + 1]["as_of"]
        if previous is not None:
            careplan["replaces"] = [_ref(previous)]
        if paused and routine.get("pause_reason"):
            careplan["note"] = [{"text": f"Paused: {routine['pause_reason']}"}]
        refs = {"patient": _ref(subject), "careplan": _ref(careplan)}
        requests = [
            service_request(user, number, block["block"], rx, request_status, refs)
            for block in routine.get("blocks", ())
            for rx in block["prescriptions"]
        ]
        if requests:
            careplan["activity"] = [{"reference": _ref(r)} for r in requests]
        resources += [careplan, *requests, provenance(user, version, careplan, observations, known)]
        previous = careplan
    return {
        "resourceType": "Bundle",
        "id": _id(user, "bundle"),
        "type": "collection",
        "timestamp": max(
            [e.occurred_at for e in events] + [datetime.fromisoformat(v["as_of"]) for v in versions]
        ).isoformat(),
        "entry": [_entry(r) for r in resources],
    }


def provenance(
    user: UserKey,
    version: Mapping[str, Any],
    careplan: JSON,
    observations: Mapping[str, JSON],
    known: Mapping[str, LoggedEvent],
) -> JSON:
    changes = version.get("changes", ())
    # Every (rule, reason) once: one rule may give several reasons (S3's warm-up and cool-down).
    rules = list(
        dict.fromkeys(
            (change["rule"], change.get("reason") or change["rule"])
            for change in changes
            if change.get("rule")
        )
    )
    causes = list(
        dict.fromkeys(
            [
                *version.get("caused_by", ()),
                *(c for ch in changes for c in ch.get("caused_by") or ()),
            ]
        )
    )
    entities = []
    for event_id in causes:
        if event_id in observations:
            what: JSON = _ref(observations[event_id])
        else:
            what = {"identifier": {"system": EVENT_ID_SYSTEM, "value": event_id}}
            event = known.get(event_id)
            if event is not None:
                what["display"] = f"{event.type} at {event.occurred_at.isoformat()}"
        entities.append({"role": "source", "what": what})
    resource: JSON = {
        "resourceType": "Provenance",
        "id": _id(user, "provenance", version["version"]),
        "target": [_ref(careplan)],
        "recorded": version["as_of"],
        "policy": [f"urn:backtrack:rules-version:{version['rules_version']}"],
        "activity": {
            "coding": [
                {
                    "system": DATA_OPERATION,
                    "code": "CREATE" if version["version"] == 1 else "UPDATE",
                }
            ]
        },
        "agent": [
            {
                "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler"}]},
                "who": {"display": f"Backtrack planner, rules {version['rules_version']}"},
            }
        ],
    }
    if rules:
        resource["reason"] = [
            {"coding": [{"system": RULE_SYSTEM, "code": rule}], "text": reason}
            for rule, reason in rules
        ]
    if entities:
        resource["entity"] = entities
    return resource
