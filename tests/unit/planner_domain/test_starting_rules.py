"""S1-S3: the first routine."""

import json

from domain_builders import T0, History

from planner.domain import RULES_VERSION, derive_routine
from planner.domain.rules_table import NUMBERS, RULES


def _rx(routine, block, exercise):
    p = routine.prescription(exercise, block)
    assert p is not None, f"{block}/{exercise} missing"
    return p


def test_s1_baseline_sets_first_routine_citing_the_baseline_event():
    h = History()
    b = h.baseline(walk_min=30, plank_s=40, pain_at_rest=3, flexibility="fair")
    r = derive_routine(h.events, h.at(1))
    assert r.status == "active"
    assert r.rules_version == RULES_VERSION
    walking = _rx(r, "cardio", "walking")
    assert walking.dose.duration_min == 15  # half the tested walk
    assert walking.last_change.rule == "S1"
    assert walking.last_change.caused_by == (b.event_id,)
    assert walking.last_change.at == b.occurred_at
    assert _rx(r, "core", "plank").variation_level == 1  # holds a plank already: full plank
    stretch = _rx(r, "stretching", "seated_hamstring_stretch")
    assert stretch.dose.hold_s == 30 and stretch.last_change.rule == "S1"
    squat = _rx(r, "strength", "squat")
    assert squat.dose.reps == 8 and squat.dose.load_kg is None and squat.variation_level == 0


def test_s1_without_baseline_any_event_gives_the_most_conservative_routine():
    h = History()
    g = h.add(
        "goal.set", {"goal_id": "g", "metric": "walk_min", "target": 20, "period": "month"}, h.at(0)
    )
    r = derive_routine(h.events, h.at(1))
    assert _rx(r, "cardio", "walking").dose.duration_min == 5
    assert _rx(r, "core", "plank").variation_level == 0
    assert _rx(r, "core", "plank").dose.hold_s == 30
    assert _rx(r, "cardio", "walking").last_change.caused_by == (g.event_id,)


def test_s1_empty_history_still_gives_a_routine():
    r = derive_routine([], T0)
    assert r.status == "active"
    assert _rx(r, "cardio", "walking").dose.duration_min == 5


def test_s1_caps_the_starting_walk_and_floors_it_at_five_minutes():
    h = History()
    h.baseline(walk_min=200)
    assert _rx(derive_routine(h.events, h.at(1)), "cardio", "walking").dose.duration_min == 20
    h2 = History()
    h2.baseline(walk_min=4)
    assert _rx(derive_routine(h2.events, h2.at(1)), "cardio", "walking").dose.duration_min == 5


def test_s1_contraindicated_exercise_is_held_out():
    h = History()
    h.baseline(contraindications=["cobra"])
    r = derive_routine(h.events, h.at(1))
    assert r.prescription("cobra", "stretching") is None
    assert [(x.exercise, x.rule) for x in r.held_out] == [("cobra", "S1")]


def test_s2_no_high_impact_running_or_loaded_twisting_at_the_start():
    h = History()
    h.baseline(walk_min=60, plank_s=120, pain_at_rest=0)
    r = derive_routine(h.events, h.at(1))
    slugs = {p.exercise for b in r.blocks for p in b.prescriptions}
    assert not slugs & {
        "hill_sprints",
        "plyometrics",
        "steady_run",
        "intervals",
        "bicycle_crunch",
        "lunge",
    }
    assert "sitting_spinal_rotation" in slugs  # D1: a gentle, unloaded rotation stays


def test_s3_every_routine_has_warmup_and_cooldown():
    h = History()
    h.baseline()
    r = derive_routine(h.events, h.at(1))
    names = [b.block for b in r.blocks]
    assert names[0] == "warmup" and names[-1] == "cooldown"
    warm = r.blocks[0].prescriptions[0]
    cool = r.blocks[-1].prescriptions[0]
    assert warm.dose.duration_min >= 10 and warm.last_change.rule == "S3"
    assert 5 <= cool.dose.duration_min <= 10 and cool.last_change.rule == "S3"


def test_to_dict_is_json_ready_and_byte_identical_for_equal_inputs():
    h = History()
    h.baseline(walk_min=30)
    a = json.dumps(derive_routine(h.events, h.at(1)).to_dict(), sort_keys=True)
    b = json.dumps(derive_routine(list(reversed(h.events)), h.at(1)).to_dict(), sort_keys=True)
    assert a == b
    d = json.loads(a)
    assert d["status"] == "active" and d["pause_reason"] is None
    rx = d["blocks"][0]["prescriptions"][0]
    assert set(rx["last_change"]) == {"rule", "reason", "caused_by", "at"}


def test_events_after_as_of_are_ignored():
    h = History()
    h.baseline(walk_min=30)
    h.add("baseline.assessed", {"walk_min": 10}, h.at(5))
    r = derive_routine(h.events, h.at(1))
    assert _rx(r, "cardio", "walking").dose.duration_min == 15


def test_rules_table_names_every_number_with_rule_and_seed_words():
    from planner.domain import rules_table

    for name, number in NUMBERS.items():
        assert getattr(rules_table, name) == number.value
        assert number.rule in RULES
        assert number.seed
