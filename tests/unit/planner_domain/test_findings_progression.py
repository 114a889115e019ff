"""Issue 11's progression findings, each as the handful of events that reproduced it."""

from domain_builders import History, follow_plan, rx, session

from planner.domain import derive_routine
from planner.domain import rules_table as t
from planner.domain.exercises import EXERCISES


def test_finding_1_calf_raise_eased_back_at_5_kg_climbs_again():
    """One 7/10 report at 5 kg: the calf raise drops to its unloaded form and earns the load back."""
    h = History()
    h.baseline(walk_min=10)
    day = 0
    while (rx(h, "strength", "calf_raise", day).dose.load_kg or 0) < t.P2_FIRST_LOAD_KG:
        follow_plan(h, 1, start_week=day // 7)
        day += 7
        assert day < 7 * 40, "the calf raise never reached its first load"
    session(h, day)
    h.pain(day, 7, "during", exercise="calf_raise", session_id=f"s-{day}")
    eased = rx(h, "strength", "calf_raise", day + 1)
    assert eased.dose.load_kg is None and eased.last_change.rule == "R1"
    follow_plan(h, 10, start_week=day // 7 + 1)
    later = rx(h, "strength", "calf_raise", day + 7 * 11)
    assert (later.dose.load_kg or 0) >= t.P2_FIRST_LOAD_KG


def _cardio_history(weeks: int) -> History:
    """A pain-free patient with long walks, cleared for high impact at the start."""
    h = History()
    h.baseline(walk_min=60)
    h.add(
        "clearance.recorded",
        {"clinician": "Dr Lee", "scopes": ["high_impact", "running"]},
        h.at(0, 3),
        source={"kind": "clinician", "name": "clinic"},
    )
    follow_plan(h, weeks)
    return h


def _versions(h: History, weeks: int):
    for day in range(0, weeks * 7, 3):
        yield day, derive_routine(h.events, h.at(day, 23))


def test_finding_6_hill_sprints_replace_intervals_and_intervals_never_come_back():
    h = _cardio_history(40)
    sprinted = False
    for day, r in _versions(h, 40):
        cardio = {p.exercise for b in r.blocks if b.block == "cardio" for p in b.prescriptions}
        assert not {"intervals", "hill_sprints"} <= cardio, f"day {day}: both interval forms"
        sprinted = sprinted or "hill_sprints" in cardio
        if sprinted:
            assert "intervals" not in cardio, f"day {day}: intervals re-added after hill sprints"
    assert sprinted, "the patient never reached hill sprints"


def test_finding_11_hill_sprints_never_grow_3_minute_hard_parts():
    h = _cardio_history(40)
    r = derive_routine(h.events, h.at(280))
    for c in r.changes:
        if c.exercise == "hill_sprints" and c.after is not None and c.after.interval is not None:
            assert c.after.interval.hard_min * 60 <= 30, c


def test_finding_11_first_external_load_never_arrives_with_a_new_variation():
    h = History()
    h.baseline(walk_min=10)
    follow_plan(h, 30)
    r = derive_routine(h.events, h.at(210))
    firsts = 0
    for c in r.changes:
        if c.exercise is None or c.after is None:
            continue
        if (
            c.direction == "up"
            and c.before is not None
            and not c.before.load_kg
            and c.after.load_kg
        ):
            firsts += 1
            assert c.after.reps == t.P2_REPS_MIN, c
            assert c.rule == "D17", c
    assert firsts > 0, "no exercise reached external load in 30 weeks"
    for b in r.blocks:
        for p in b.prescriptions:
            if p.dose.load_kg and p.last_change.rule == "D17":
                assert p.variation_level == len(EXERCISES[p.exercise].ladder) - 1
