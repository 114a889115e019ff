"""Twelve-week scenarios (scenarios/*.json): the expected routine at every weekly checkpoint."""

import json

import pytest
from scenario_runner import all_names, load, play, snapshot

from planner.domain import derive_routine


@pytest.mark.parametrize("name", all_names())
def test_scenario_checkpoints(name):
    spec = load(name)
    h = play(spec)
    for label, expected in spec["checkpoints"].items():
        week = int(label.split("_")[1])
        assert snapshot(h, week * 7 - 1) == expected, f"{name} {label}"


def test_scenario_set_covers_the_brief():
    assert {
        "steady_progress.json",
        "flare_after_core.json",
        "pain_lasting_24h.json",
        "red_flag.json",
        "sparse_late_sync.json",
        "strength_plateau.json",
    } <= set(all_names())


def test_late_sync_gives_the_routine_the_sorted_history_gives():
    h = play(load("sparse_late_sync.json"))
    at = h.at(83, 23)
    in_order = sorted(h.events, key=lambda e: (e.occurred_at, e.stream_version))
    assert json.dumps(derive_routine(h.events, at).to_dict(), sort_keys=True) == json.dumps(
        derive_routine(in_order, at).to_dict(), sort_keys=True
    )


def test_red_flag_scenario_prescribes_nothing_while_paused():
    h = play(load("red_flag.json"))
    r = derive_routine(h.events, h.at(30))
    assert r.status == "paused" and r.blocks == () and r.weekly_plan["next_session"] is None


def test_plateau_holds_the_squat_until_every_set_reaches_the_reps():
    h = play(load("strength_plateau.json"))
    ups = [
        c
        for c in derive_routine(h.events, h.at(83)).changes
        if c.exercise == "squat" and c.direction == "up" and h.at(60) <= c.at < h.at(77)
    ]
    assert ups == []
