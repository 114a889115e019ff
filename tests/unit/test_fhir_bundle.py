"""The FHIR export of a history is a valid R4 Bundle (fhir.resources' 4.0.1 models) that says
what the planner's JSON says: a pain report an Observation, a routine version a CarePlan with
its ServiceRequests and a Provenance naming its rules and causes."""

import sys
from pathlib import Path
from typing import Any

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle

from backtrack_shared.user_key import UserKey
from planner.domain.versions import replay_versions
from planner.views.fhir_bundle import PAIN_SEVERITY, bundle

sys.path.insert(0, str(Path(__file__).parent / "planner_domain"))
from scenario_runner import all_names, load, play

USER = UserKey("acme", "patient-7")


def of(kind: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


def test_the_models_are_fhir_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


@pytest.mark.parametrize("name", all_names())
def test_every_story_exports_a_valid_bundle_of_what_the_planner_holds(name: str):
    events = play(load(name)).events
    versions = [v.as_json() for v in replay_versions(events)]
    document = bundle(USER, events, versions)
    Bundle.parse_obj(document)

    pains = [e for e in events if e.type == "pain.reported"]
    observations = of("Observation", document)
    assert [o["identifier"][0]["value"] for o in observations] == [e.event_id for e in pains]
    assert {o["code"]["coding"][0]["code"] for o in observations} <= {PAIN_SEVERITY}
    assert [o["valueInteger"] for o in observations] == [e.payload["score"] for e in pains]
    assert [
        o["component"][0]["valueCodeableConcept"]["coding"][0]["code"] for o in observations
    ] == [e.payload["timing"] for e in pains]

    plans = of("CarePlan", document)
    assert [p["identifier"][0]["value"] for p in plans] == [str(v["version"]) for v in versions]
    assert [p["status"] for p in plans[:-1]] == ["revoked"] * (len(plans) - 1)
    latest = versions[-1]["routine"]
    assert plans[-1]["status"] == ("on-hold" if latest["status"] == "paused" else "active")
    requests = {f"urn:uuid:{r['id']}": r for r in of("ServiceRequest", document)}
    for plan, version in zip(plans, versions, strict=True):
        activity = [requests[a["reference"]["reference"]] for a in plan.get("activity", ())]
        prescriptions = [
            (b["block"], p) for b in version["routine"]["blocks"] for p in b["prescriptions"]
        ]
        assert [
            (r["category"][0]["coding"][0]["code"], r["code"]["coding"][0]["code"])
            for r in activity
        ] == [(block, p["exercise"]) for block, p in prescriptions]
        for request, (_, p) in zip(activity, prescriptions, strict=True):
            assert request["reasonCode"][0]["coding"][0]["code"] == p["last_change"]["rule"]
            repeat = request["occurrenceTiming"].get("repeat", {})
            if "sets" in p["dose"]:
                assert repeat["count"] == p["dose"]["sets"]
            if "reps" in p["dose"]:
                assert request["quantityQuantity"]["value"] == p["dose"]["reps"]
            if "sessions_per_week" in p["dose"]:
                assert (repeat["frequency"], repeat["periodUnit"]) == (
                    p["dose"]["sessions_per_week"],
                    "wk",
                )

    observed = {f"urn:uuid:{o['id']}": o["identifier"][0]["value"] for o in observations}
    provenances = of("Provenance", document)
    assert len(provenances) == len(versions)
    for provenance, version, plan in zip(provenances, versions, plans, strict=True):
        assert provenance["target"] == [{"reference": f"urn:uuid:{plan['id']}"}]
        rules = {c["rule"] for c in version["changes"] if c.get("rule")}
        assert {r["coding"][0]["code"] for r in provenance.get("reason", ())} == rules
        named = set()
        for entity in provenance.get("entity", ()):
            what = entity["what"]
            named.add(
                observed[what["reference"]] if "reference" in what else what["identifier"]["value"]
            )
        causes = set(version["caused_by"]) | {
            c for change in version["changes"] for c in change.get("caused_by") or ()
        }
        assert named == causes


def test_the_same_history_gives_the_same_bundle():
    events = play(load("steady_progress.json")).events
    versions = [v.as_json() for v in replay_versions(events)]
    assert bundle(USER, events, versions) == bundle(USER, list(events), list(versions))
    assert bundle(USER, events, versions) != bundle(
        UserKey("globex", "patient-7"), events, versions
    )


def test_nothing_held_is_an_empty_bundle():
    document = bundle(USER, [], [])
    Bundle.parse_obj(document)
    assert document["entry"] == []
