"""P1-P5: one focused test per rule."""

from domain_builders import History, focus, rx, session

from planner.domain.ladder import raised_load


def _two_weeks(h, days=(0, 2, 7)):
    for d in days:
        session(h, d)


def test_p1_stretch_hold_plus_5s_after_two_sessions_and_seven_days():
    h = History()
    h.baseline(contraindications=focus("cat_cow"))
    _two_weeks(h)
    p = rx(h, "stretching", "cat_cow", day=8)
    assert p.dose.hold_s == 35
    assert p.last_change.rule == "P1"
    assert len(p.last_change.caused_by) == 2


def test_p1_at_cap_moves_to_next_variation_back_at_30s():
    from planner.domain.exercises import EXERCISES
    from planner.domain.ladder import step_up
    from planner.domain.routine import Dose

    step = step_up(EXERCISES["cobra"], Dose(hold_s=60, sets=2), 0)
    assert step.rule == "P1" and step.level == 1 and step.dose.hold_s == 30


def test_p2_reps_then_load_at_most_10_percent_rounded_down_to_equipment_step():
    from planner.domain.exercises import EXERCISES
    from planner.domain.ladder import step_up
    from planner.domain.routine import Dose

    squat = EXERCISES["squat"]
    assert step_up(squat, Dose(sets=2, reps=9), 0).dose.reps == 10
    loaded = step_up(squat, Dose(sets=2, reps=12, load_kg=7.0), 1)
    assert loaded.dose.load_kg == 7.5 and loaded.dose.reps == 8 and loaded.rule == "P2"
    assert raised_load(5.0) == 5.5 and raised_load(9.5) == 10.0 and raised_load(4.0) == 4.0
    # D17: at the last variation and the most sets, the first external load is a step of its own
    assert step_up(squat, Dose(sets=2, reps=12), 1).dose == Dose(sets=3, reps=8)
    first = step_up(squat, Dose(sets=3, reps=12), 1)
    assert first.level == 1 and first.dose == Dose(sets=3, reps=8, load_kg=5.0)
    assert first.rule == "D17"


def test_p2_no_load_step_unless_every_set_reached_the_reps():
    h = History()
    h.baseline(contraindications=focus("squat", "calf_raise"))
    session(h, 0)
    session(h, 2, squat={"sets": [{"reps": 8}, {"reps": 7}]})
    session(h, 7)
    assert rx(h, "strength", "squat", 8).dose.reps == 8
    assert rx(h, "strength", "calf_raise", 8).dose.reps == 9


def test_p3_core_reps_plus_one_and_plank_plus_5s():
    h = History()
    h.baseline(plank_s=40, contraindications=focus("superman", "plank"))
    _two_weeks(h)
    assert rx(h, "core", "superman", 8).dose.reps == 9
    assert rx(h, "core", "plank", 8).dose.hold_s == 35
    assert rx(h, "core", "plank", 8).last_change.rule == "P3"


def test_p4_cardio_minutes_grow_at_most_10_percent():
    h = History()
    h.baseline(walk_min=20, contraindications=focus("walking"))
    _two_weeks(h)
    walking = rx(h, "cardio", "walking", 8)
    assert walking.dose.duration_min == 11 and walking.last_change.rule == "P4"


def test_p5_no_step_before_seven_days_even_after_many_sessions():
    h = History()
    h.baseline()
    for d in (0, 1, 2, 3, 4, 5):
        session(h, d)
    assert rx(h, "stretching", "cat_cow", 6).dose.hold_s == 30
    assert rx(h, "stretching", "cat_cow", 6).hold.rule == "P5"


def test_p5_needs_two_completed_sessions_at_the_dose():
    h = History()
    h.baseline(contraindications=focus("cat_cow", "cobra"))
    session(h, 0, cat_cow={"completed": False})
    session(h, 8)
    assert rx(h, "stretching", "cat_cow", 9).dose.hold_s == 30
    assert rx(h, "stretching", "cobra", 9).dose.hold_s == 35
