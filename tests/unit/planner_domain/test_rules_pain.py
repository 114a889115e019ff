"""R1-R6 and B1: pain rules win over progression."""

from domain_builders import History, rx, session

from planner.domain import derive_routine


def _progressed(h):
    h.baseline(pain_at_rest=1)
    for d in (0, 2, 7):
        session(h, d)
    assert rx(h, "strength", "squat", 8).dose.reps == 9


def test_r1_red_pain_during_regresses_that_exercise_and_freezes_it():
    h = History()
    _progressed(h)
    s = session(h, 9)
    p = h.pain(9, 7, "during", session_id=s.payload["session_id"], exercise="squat")
    squat = rx(h, "strength", "squat", 10)
    assert squat.dose.reps == 8  # 9 - 2 reps, floored at 8
    assert squat.last_change.rule == "R1" and squat.last_change.caused_by == (p.event_id,)
    session(h, 16)
    session(h, 18, squat={"completed": False})
    session(h, 23)
    assert rx(h, "strength", "squat", 24).last_change.rule == "R1"  # not yet two clean sessions
    assert rx(h, "strength", "calf_raise", 24).dose.reps > 9


def test_r1_stopped_for_pain_counts_as_sharp_pain():
    h = History()
    _progressed(h)
    session(h, 9, squat={"stopped_for_pain": True, "completed": False})
    assert rx(h, "strength", "squat", 10).last_change.rule == "R1"


def test_r2_24h_pain_eases_back_every_exercise_of_the_session_and_none_progresses():
    h = History()
    _progressed(h)
    s = session(h, 9)
    h.pain(10, 4, "24h_after", session_id=s.payload["session_id"])
    r = derive_routine(h.events, h.at(10, 3))
    assert r.prescription("squat", "strength").dose.reps == 8  # 9 - 2, floored at 8
    assert r.prescription("squat", "strength").last_change.rule == "R2"
    assert r.prescription("walking", "cardio").last_change.rule == "R2"
    session(h, 14)
    assert all(
        c.direction != "up" for c in derive_routine(h.events, h.at(15)).changes if c.at >= h.at(10)
    )


def test_r3_core_flare_holds_out_core_and_says_see_a_doctor():
    h = History()
    h.baseline(pain_at_rest=2)
    s = session(h, 0)
    h.pain(1, 6, "24h_after", session_id=s.payload["session_id"], flare_up_cause="core")
    r = derive_routine(h.events, h.at(2))
    assert not [b for b in r.blocks if b.block == "core"]
    assert {x.rule for x in r.held_out} == {"R3"}
    assert any(a.rule == "R3" and "doctor" in a.text for a in r.advice)
    assert any(a.rule == "F3" for a in r.advice)
    h.add("clearance.recorded", {"clinician": "dr", "scopes": ["core"]}, h.at(10))
    r = derive_routine(h.events, h.at(11))
    assert r.prescription("plank", "core").last_change.rule == "R3"


def test_r4_rising_pain_trend_reverts_the_last_step():
    h = History()
    _progressed(h)
    for d in range(1, 8):
        h.pain(d, 1, "rest", hour=8)
    for d in range(8, 15):
        h.pain(d, 5, "rest", hour=8)
    r = derive_routine(h.events, h.at(15))
    reverted = [c for c in r.changes if c.rule == "R4"]
    assert len(reverted) == 1 and reverted[0].direction == "revert"


def test_r5_amber_pain_holds_the_dose_and_undoes_a_step_it_earned():
    h = History()
    h.baseline()
    session(h, 0)
    session(h, 2)
    s = session(h, 7)
    assert rx(h, "strength", "squat", 7.2).dose.reps == 9
    h.pain(7, 4, "during", hour=1.5, session_id=s.payload["session_id"], exercise="squat")
    squat = rx(h, "strength", "squat", 8)
    assert squat.dose.reps == 8 and squat.last_change.rule == "R5" and squat.hold.rule == "R5"
    assert rx(h, "strength", "calf_raise", 8).dose.reps == 9


def test_r6_red_flag_pauses_with_emergency_tier_and_clearance_resumes():
    h = History()
    h.baseline()
    session(h, 0)
    h.pain(1, 2, "rest", red_flags=["saddle_numbness"])
    r = derive_routine(h.events, h.at(2))
    assert r.status == "paused" and "now" in r.pause_reason and r.blocks == ()
    assert r.advice[0].severity == "emergency"
    h.add("clearance.recorded", {"clinician": "dr", "scopes": ["running"]}, h.at(5))
    assert derive_routine(h.events, h.at(6)).status == "active"


def test_b2_urgent_tier_for_fever():
    h = History()
    h.pain(0, 3, "rest", red_flags=["fever"])
    r = derive_routine(h.events, h.at(1))
    assert r.status == "paused" and r.advice[0].severity == "urgent"


def test_b1_next_morning_pain_above_usual_blocks_the_step():
    h = History()
    h.baseline(pain_at_rest=1)
    session(h, 0)
    session(h, 2)
    s = session(h, 7)
    h.pain(8, 4, "next_morning", session_id=s.payload["session_id"])
    cat = rx(h, "stretching", "cat_cow", 9)
    assert cat.dose.hold_s == 30 and cat.last_change.rule == "B1"
