"""Issue 11's progression findings, each as the handful of events that reproduced it."""

from domain_builders import History, follow_plan, rx, session

from planner.domain import derive_routine
from planner.domain import rules_table as t
from planner.domain.exercises import EXERCISES


def test_finding_1_calf_raise_eased_back_at_5_kg_climbs_again():
    """One 7/10 report at 5 kg: the calf raise drops to its unloaded form and earns the load back.

    (A 120-minute session budget, so that D11's budget never holds the reps and sets back.)
    """
    h = History()
    h.baseline(walk_min=10, session_budget_min=120)
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
    """A pain-free patient with long walks, cleared for high impact at the start, whose
    assessment leaves out everything but cardio (so the cardio ladder is all that climbs)."""
    from planner.domain.exercises import STARTING_CORE, STARTING_STRENGTH, STARTING_STRETCHES

    h = History()
    h.baseline(
        walk_min=60,
        session_budget_min=120,
        contraindications=[*STARTING_STRETCHES, *STARTING_STRENGTH, *STARTING_CORE, "lunge"],
    )
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
    h.baseline(walk_min=10, session_budget_min=120)
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


def _ups_by_session(r):
    ups: dict[object, list] = {}
    for c in r.changes:
        if c.direction == "up":
            ups.setdefault(c.at, []).append(c)
    return ups


def test_finding_11_at_most_3_exercises_step_up_at_one_session_those_waiting_longest_first():
    h = History()
    h.baseline(walk_min=10)
    follow_plan(h, 12)
    r = derive_routine(h.events, h.at(84))
    ups = _ups_by_session(r)
    assert ups, "nothing stepped up in 12 weeks"
    assert max(len(v) for v in ups.values()) <= t.D11_MAX_STEPS_PER_SESSION
    # at the first session that stepped anything, the others wait and are next in line
    first = min(ups)
    waiting = [
        p
        for b in derive_routine(h.events, first).blocks
        for p in b.prescriptions
        if p.hold is not None and p.hold.rule == "D11"
    ]
    assert waiting and all(p.last_change.at <= first for p in waiting)


def test_finding_11_a_session_stays_within_its_time_budget():
    for budget, walk in ((None, 40), (45, 20)):
        h = History()
        extra = {} if budget is None else {"session_budget_min": budget}
        h.baseline(walk_min=walk, **extra)
        follow_plan(h, 26)
        limit = budget or t.D11_SESSION_BUDGET_MIN
        for day in range(0, 26 * 7, 7):
            r = derive_routine(h.events, h.at(day, 23))
            assert r.session_estimate_min <= limit, (budget, day, r.session_estimate_min)
            assert r.to_dict()["session_estimate_min"] == r.session_estimate_min


def test_d11_the_estimate_counts_warmup_sets_reps_holds_rest_cardio_and_cooldown():
    h = History()
    h.baseline(walk_min=20)
    r = derive_routine(h.events, h.at(0, 1))
    # warm-up 10 + 6 stretches 2 x 30 s + 60 s rest + 5 strength 2 x 8 reps x 3 s + 60 s
    # + plank 2 x 30 s + 60 s + superman 2 x 8 x 3 s + 60 s + walk 10 + cool-down 5
    expected = (10 * 60 + 6 * 120 + 5 * 108 + 120 + 108 + 10 * 60 + 5 * 60) / 60
    assert abs(r.session_estimate_min - expected) < 0.01
    assert r.to_dict()["session_budget_min"] == t.D11_SESSION_BUDGET_MIN


def test_d11_a_dose_the_budget_stops_is_a_declared_maintenance_ceiling():
    """December, "every dose has a way up": a dose whose next step no longer fits the session
    budget has no way up while the budget stands, so it is declared as kept (maintenance, D11,
    naming the budget and how to change it), not left silently stuck."""
    h = History()
    h.baseline(walk_min=20, session_budget_min=51)
    follow_plan(h, 4)
    r = derive_routine(h.events, h.at(28, 23))
    held = [p for b in r.blocks for p in b.prescriptions if p.hold and p.hold.rule == "D11"]
    stopped = [p for p in held if "budget" in p.hold.reason]
    assert stopped, [(p.exercise, p.hold) for b in r.blocks for p in b.prescriptions]
    for p in stopped:
        assert p.maintenance is not None and p.maintenance.rule == "D11", p.exercise
        assert "51-minute" in p.maintenance.reason and "session_budget_min" in p.maintenance.reason
    assert r.session_estimate_min <= 51
