"""Routine versions from a user's events, and the audit that compares a replay with the record."""

import dataclasses
import itertools
from datetime import timedelta

from planner.domain.versions import audit, replay_versions
from tests.support.logged_events import EVENTS, T0, event


def test_a_version_is_made_only_when_the_routine_changes():
    versions = replay_versions(EVENTS)
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert versions[0].caused_by == ["e1"]
    assert versions[-1].routine["status"] == "paused"  # the red flag
    assert versions[-1].caused_by == ["e3"]
    assert versions[-1].applied_position == 103
    assert all(a.routine != b.routine for a, b in itertools.pairwise(versions))


def test_the_audit_of_an_unchanged_record_says_it_is_reproduced():
    recorded = replay_versions(EVENTS)
    report = audit(recorded, replay_versions(EVENTS))
    assert report["reproduced"] and all(row["identical"] for row in report["versions"])


def test_the_audit_names_where_and_how_todays_rules_decide_differently():
    recorded = replay_versions(EVENTS)
    first = recorded[0]
    blocks = [dict(block) for block in first.routine["blocks"]]
    tampered_block = dict(blocks[1])
    prescription = dict(tampered_block["prescriptions"][0])
    prescription["dose"] = {**prescription["dose"], "hold_s": 45}
    tampered_block["prescriptions"] = [prescription, *tampered_block["prescriptions"][1:]]
    blocks[1] = tampered_block
    as_recorded = [
        dataclasses.replace(first, routine={**first.routine, "blocks": blocks}),
        *recorded[1:],
    ]
    report = audit(as_recorded, replay_versions(EVENTS))
    assert not report["reproduced"]
    row = report["versions"][0]
    assert not row["identical"]
    assert [d["exercise"] for d in row["differences"]] == [prescription["exercise"]]
    assert row["differences"][0]["rule"] == "S1"


def test_finding_10_the_current_version_read_later_shows_advice_computed_then():
    """Versions change only on events; reading the routine 40 days later still shows advice of
    that instant (the cold pack of a flare expired, F1 counts the empty weeks)."""
    from planner.domain.versions import routine_now

    events = [
        event(1, "baseline.assessed", {"walk_min": 20, "pain_at_rest": 1}, day=0),
        event(
            2,
            "pain.reported",
            {
                "score": 7,
                "timing": "24h_after",
                "location": "back",
                "red_flags": [],
                "flare_up_cause": "strength",
            },
            day=8,
        ),
    ]
    versions = replay_versions(events)
    current = versions[-1]
    assert any(a["rule"] == "F3" for a in current.routine["advice"])
    later = routine_now(current, events, T0 + timedelta(days=48))
    assert not any(a["rule"] == "F3" for a in later["advice"])
    assert any(a["rule"] == "F1" for a in later["advice"])
    assert later["weekly_plan"]["days"][0]["date"] == (T0 + timedelta(days=48)).date().isoformat()
    assert later["blocks"] == current.routine["blocks"]  # the doses are the version's
    assert replay_versions(events) == versions  # reading made no version
