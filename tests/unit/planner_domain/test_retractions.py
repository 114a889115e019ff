"""record.retracted: the planner folds as if the record had never been sent, except that a red
flag it carried still pauses the routine until a clinician has reviewed it (R6)."""

import json
import random

from domain_builders import History, entry, follow_plan, rx, session

from planner.domain import derive_routine
from planner.domain.rulebooks import CURRENT, RULEBOOKS
from planner.domain.versions import replay_versions

HC = {"kind": "wearable", "name": "health-connect"}


def _retract(h, day, hour=5, **target):
    return h.add("record.retracted", target, h.at(day, hour), source=HC)


def _prescriptions(routine):
    out = routine.to_dict()
    return json.dumps({k: v for k, v in out.items() if k != "based_on"}, sort_keys=True)


def _walk(minutes):
    return [entry("walking", "cardio", [{"duration_min": minutes}], rpe=3)]


def test_a_retracted_red_pain_report_stops_regressing_the_exercise():
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 1)
    squat = session(h, 7)
    report = h.pain(7, 8, "during", exercise="squat", session_id=squat.payload["session_id"])
    regressed = rx(h, "strength", "squat", 8)
    assert regressed.last_change.rule == "R1"
    without = [e for e in h.events if e is not report]
    _retract(h, 8, event_id=report.event_id)
    assert rx(h, "strength", "squat", 9).last_change.rule != "R1"
    assert _prescriptions(derive_routine(h.events, h.at(9))) == _prescriptions(
        derive_routine(without, h.at(9))
    )


def test_a_retracted_red_flag_still_pauses_until_a_clinician_reviews_it():
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 1)
    flag = h.pain(8, 3, "rest", red_flags=["saddle_numbness"])
    _retract(h, 8, hour=6, event_id=flag.event_id, reason="ticked by mistake")
    paused = derive_routine(h.events, h.at(9))
    assert paused.status == "paused"
    r6 = [c for c in paused.changes if c.rule == "R6"]
    assert r6 and flag.event_id in r6[-1].caused_by
    h.add("clearance.recorded", {"clinician": "dr", "scopes": ["core"]}, h.at(10))
    assert derive_routine(h.events, h.at(10, 1)).status == "paused"
    h.add("clearance.recorded", {"clinician": "dr", "scopes": ["red_flag_reviewed"]}, h.at(11))
    assert derive_routine(h.events, h.at(11, 1)).status == "active"


def test_a_retraction_by_record_id_takes_back_every_version_stored_before_it():
    h = History()
    h.baseline(pain_at_rest=1)
    source = {**HC, "record_id": "w1"}
    h.workout(3, _walk(10), session_id="w1", source={**source, "record_version": 1})
    h.workout(3, _walk(12), session_id="w1", source={**source, "record_version": 2})
    before = derive_routine(h.events[:1], h.at(5))
    _retract(h, 4, record_id="w1")
    assert _prescriptions(derive_routine(h.events, h.at(5))) == _prescriptions(before)
    back = h.workout(3, _walk(14), session_id="w1", source={**source, "record_version": 3})
    assert _prescriptions(derive_routine(h.events, h.at(5))) == _prescriptions(
        derive_routine([h.events[0], back], h.at(5))
    )


def test_a_retraction_names_a_record_of_its_own_source_unless_it_names_another():
    h = History()
    h.baseline(pain_at_rest=1)
    h.workout(3, _walk(30), session_id="w1", source={**HC, "record_id": "w1"})
    h.add("record.retracted", {"record_id": "w1"}, h.at(4), source={"kind": "app", "name": "a"})
    assert derive_routine(h.events, h.at(5)).based_on["events"] == 2
    h.add(
        "record.retracted",
        {"record_id": "w1", "source_name": "health-connect"},
        h.at(4, 1),
        source={"kind": "app", "name": "a"},
    )
    assert derive_routine(h.events, h.at(5)).based_on["events"] == 1


def test_a_retraction_arriving_first_or_late_gives_the_same_versions_as_in_order():
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 2)
    report = h.pain(9, 7, "24h_after")
    follow_plan(h, 1, start_week=2)
    _retract(h, 16, event_id=report.event_id)
    follow_plan(h, 1, start_week=3)
    latest = max(e.occurred_at for e in h.events)
    expected = _prescriptions(derive_routine(h.events, latest))
    for seed in range(3):
        arrival = list(h.events)
        random.Random(seed).shuffle(arrival)
        last = replay_versions(arrival)[-1].routine
        replayed = {k: v for k, v in last.items() if k != "based_on"}
        assert json.dumps(replayed, sort_keys=True) == expected


def test_a_history_of_a_retraction_alone_is_the_most_conservative_start():
    h = History()
    _retract(h, 0, record_id="never-sent")
    (version,) = replay_versions(h.events)
    assert version.routine == derive_routine((), h.at(0, 5)).to_dict()
    old_rules = RULEBOOKS["2025.06-1"]
    assert replay_versions(h.events, rules=old_rules)[0].routine["rules_version"] == "2025.06-1"


def test_rules_that_knew_no_retraction_fold_the_record_as_if_it_stood():
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 1)
    report = h.pain(8, 7, "24h_after")
    follow_plan(h, 1, start_week=1)
    old_rules = RULEBOOKS["2025.06-1"]
    before = old_rules.derive_routine(h.events, h.at(20)).to_dict()
    versions_before = replay_versions(h.events, rules=old_rules)
    _retract(h, 15, event_id=report.event_id)
    after = old_rules.derive_routine(h.events, h.at(20)).to_dict()
    assert {k: v for k, v in after.items() if k != "based_on"} == {
        k: v for k, v in before.items() if k != "based_on"
    }
    assert replay_versions(h.events, rules=old_rules) == versions_before
    assert CURRENT.version != old_rules.version


def test_a_corrected_version_without_the_red_flag_still_pauses_until_a_clinician_reviews_it():
    """A re-synced record's newer version replaces the older in the fold, but the red flags the
    older one carried stay, as a retraction's do: a correction never lifts a pause (R6)."""
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 1)
    source = {**HC, "record_id": "p1"}
    report = {"score": 3, "timing": "rest", "location": "lower back"}
    flagged = h.add(
        "pain.reported",
        {**report, "red_flags": ["saddle_numbness"]},
        h.at(8, 3),
        source={**source, "record_version": 1},
    )
    h.add("pain.reported", {**report, "red_flags": []}, h.at(8, 3), source={**source, "record_version": 2})
    paused = derive_routine(h.events, h.at(9))
    assert paused.status == "paused"
    assert flagged.event_id in [c for c in paused.changes if c.rule == "R6"][-1].caused_by
    h.add("clearance.recorded", {"clinician": "dr", "scopes": ["red_flag_reviewed"]}, h.at(10))
    assert derive_routine(h.events, h.at(10, 1)).status == "active"


def test_a_corrected_version_that_keeps_the_red_flag_pauses_once():
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 1)
    source = {**HC, "record_id": "p1"}
    report = {"score": 3, "timing": "rest", "location": "lower back", "red_flags": ["saddle_numbness"]}
    h.add("pain.reported", report, h.at(8, 3), source={**source, "record_version": 1})
    latest = h.add("pain.reported", {**report, "score": 4}, h.at(8, 3), source={**source, "record_version": 2})
    paused = derive_routine(h.events, h.at(9))
    assert paused.status == "paused"
    assert [c.caused_by for c in paused.changes if c.rule == "R6"][-1][0] == latest.event_id
