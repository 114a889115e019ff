"""DOMAIN.md's December 2026 decisions on progression: D10, D15, D16, D19, D20 (cardio)."""

from domain_builders import History, entry, focus, follow_plan, full_session, rx, session

from planner.domain import derive_routine
from planner.domain import rules_table as t


def _advice(r, rule):
    return [a for a in r.advice if a.rule == rule]


def test_d19_a_pool_user_is_offered_swimming_beside_walking_for_the_same_weekly_minutes():
    land, pool = History(), History(user="u2")
    land.baseline(walk_min=30)
    pool.baseline(walk_min=30, access=["pool", "gym"])
    a = derive_routine(land.events, land.at(0, 1))
    b = derive_routine(pool.events, pool.at(0, 1))
    assert a.prescription("swimming", "cardio") is None
    swim = b.prescription("swimming", "cardio")
    walk = b.prescription("walking", "cardio")
    assert swim is not None and walk is not None and swim.last_change.rule == "D19"
    assert swim.dose.duration_min == walk.dose.duration_min
    weekly = [
        sum(
            p.dose.weekly_minutes()
            for blk in r.blocks
            if blk.block == "cardio"
            for p in blk.prescriptions
        )
        for r in (a, b)
    ]
    assert weekly[0] == weekly[1]


def test_d20_prescribed_cardio_stops_growing_at_150_minutes_a_week():
    h = History()
    h.baseline(walk_min=80, session_budget_min=120, contraindications=focus("walking"))
    follow_plan(h, 40)
    seen = 0.0
    for day in range(0, 280, 7):
        r = derive_routine(h.events, h.at(day, 23))
        weekly = sum(
            p.dose.weekly_minutes()
            for b in r.blocks
            if b.block == "cardio"
            for p in b.prescriptions
        )
        assert weekly <= t.D20_WEEKLY_CARDIO_CAP_MIN, (day, weekly)
        seen = max(seen, weekly)
    assert seen >= t.D20_WEEKLY_CARDIO_CAP_MIN * 0.9  # it did grow up to the cap
    top = derive_routine(h.events, h.at(280)).prescription("walking", "cardio")
    assert top.maintenance is not None and top.maintenance.rule == "D20"


def test_d15_logging_more_than_prescribed_gets_stay_with_the_plan_and_steps_from_the_plan():
    h = History()
    h.baseline(contraindications=focus("squat", "calf_raise", "walking"))
    session(h, 0)
    session(h, 2)
    r = derive_routine(h.events, h.at(6))
    squat = r.prescription("squat", "strength")
    walk = r.prescription("walking", "cardio")
    over = full_session(r)
    for e in over:
        if e["exercise"] == "squat":  # 15 reps, above the 8-12 range
            e["sets"] = [{"reps": 15} for _ in range(squat.dose.sets)]
        if e["exercise"] == "walking":  # more than 20 % longer
            e["sets"] = [{"duration_min": walk.dose.duration_min * 1.5}]
    h.workout(7, over, session_id="s-7", duration_min=45)
    after = derive_routine(h.events, h.at(7, 2))
    advice = _advice(after, "D15")
    assert advice and "squat" in advice[0].text and "walking" in advice[0].text
    assert advice[0].caused_by == (h.events[-1].event_id,)
    assert after.prescription("squat", "strength").dose.reps == squat.dose.reps + 1  # from the plan
    assert after.prescription("walking", "cardio").dose.duration_min <= walk.dose.duration_min * 1.1


def test_d15_a_heavier_load_than_prescribed_is_noticed():
    h = History()
    h.baseline(contraindications=focus("calf_raise"))
    h.workout(
        1,
        [
            entry(
                "calf_raise",
                "strength",
                [{"reps": 8, "load_kg": 10.0}, {"reps": 8, "load_kg": 10.0}],
            )
        ],
        session_id="s1",
    )
    assert _advice(derive_routine(h.events, h.at(1, 2)), "D15")
    h2 = History(user="u2")
    h2.baseline(contraindications=focus("calf_raise"))
    session(h2, 1)
    assert not _advice(derive_routine(h2.events, h2.at(1, 2)), "D15")


def test_d16_a_strength_session_the_day_after_another_does_not_count_and_the_routine_says_rest():
    h = History()
    h.baseline(contraindications=focus("squat", "cat_cow"))
    session(h, 6)
    session(h, 7)  # the local day after: P5 counts it for the stretch, not for the squat
    r = derive_routine(h.events, h.at(7, 2))
    assert r.prescription("cat_cow", "stretching").dose.hold_s == t.P1_HOLD_START_S + 5
    squat = r.prescription("squat", "strength")
    assert squat.dose.reps == t.P2_REPS_MIN and squat.hold is not None
    assert _advice(r, "D16")
    session(h, 9)  # a rest day between: now two sessions count
    assert rx(h, "strength", "squat", 9.5).dose.reps == t.P2_REPS_MIN + 1


def test_d10_four_weeks_without_a_step_up_advise_a_physiotherapist_review_naming_what_held_it():
    h = History()
    h.baseline(contraindications=focus("squat", "cat_cow"))
    for week in range(5):
        for d in (0, 2, 4):
            s = session(h, week * 7 + d)
            h.pain(week * 7 + d, 4, "during", hour=1.5, session_id=s.payload["session_id"])
    r = derive_routine(h.events, h.at(34, 3))
    review = _advice(r, "D10")
    assert review and "physiotherapist" in review[0].text and "R5" in review[0].text
    # three weeks in, not yet
    early = derive_routine(h.events, h.at(20, 3))
    assert not _advice(early, "D10")


def test_d10_is_quiet_while_the_routine_progresses():
    h = History()
    h.baseline(contraindications=focus("squat", "cat_cow"))
    follow_plan(h, 6)
    assert not _advice(derive_routine(h.events, h.at(41, 3)), "D10")


def test_d10_counts_the_weeks_around_a_pause_but_not_the_pause():
    h = History()
    h.baseline(contraindications=focus("squat", "cat_cow"))

    def amber_week(week):
        for d in (0, 2, 4):
            s = session(h, week * 7 + d)
            h.pain(week * 7 + d, 4, "during", hour=1.5, session_id=s.payload["session_id"])

    for week in range(3):
        amber_week(week)
    h.pain(21, 2, "rest", red_flags=["fever"])
    h.add(
        "clearance.recorded",
        {"clinician": "dr", "scopes": ["red_flag_reviewed"]},
        h.at(35),
        source={"kind": "clinician", "name": "clinic"},
    )
    amber_week(5)
    assert not _advice(derive_routine(h.events, h.at(35, 3)), "D10")  # 3 weeks of sessions
    review = _advice(derive_routine(h.events, h.at(42, 12)), "D10")  # and a fourth after it
    assert review and "R5" in review[0].text


def test_d19_walking_and_swimming_take_turns_in_the_weekly_plan_and_the_estimate():
    h = History()
    h.baseline(walk_min=30, access=["pool"])
    r = derive_routine(h.events, h.at(0, 1))
    planned = [d["exercises"] for d in r.weekly_plan["days"] if d["day"] != "rest"]
    for slug in ("walking", "swimming"):
        days = sum(f"cardio:{slug}" in day for day in planned)
        assert days == r.prescription(slug, "cardio").dose.sessions_per_week, slug
    assert all(not {"cardio:walking", "cardio:swimming"} <= set(day) for day in planned)
    land = History(user="u2")
    land.baseline(walk_min=30)
    assert r.session_estimate_min == derive_routine(land.events, land.at(0, 1)).session_estimate_min


def test_d15_judges_the_dose_the_session_was_done_at_when_its_own_report_ended_the_lighter_week():
    """Simulator (over_achiever#165585991 day 84): walking 13 min, the lighter week's 9 min. On
    the week's last day the patient opened the routine (9 min), walked 11.5 (over 20 % more) and
    sent a pain report during the session, which, being the week's first event 7 days on, ended
    the week (13 min) before the workout was logged: no D15 advice. A change brought by the
    session's own reports came after the person had their dose in front of them."""
    h = History()
    h.baseline(walk_min=30, pain_at_rest=0)  # walking starts at 15 minutes
    for day in (22, 35):
        h.workout(day, [entry("walking", "cardio", rpe=4)], session_id=f"s{day}", duration_min=40)
    h.workout(37, [entry("walking", "cardio", rpe=4)], session_id="s37", duration_min=40)
    week = derive_routine(h.events, h.at(37.5))
    assert week.deload["active"] is True
    light = week.prescription("walking", "cardio").dose.duration_min
    assert light == 11.5
    h.pain(44, 0, "during", hour=0.99, session_id="s44")
    assert derive_routine(h.events, h.at(44, 0.995)).deload["active"] is False  # ended by it
    walked = [{"duration_min": 14.0}]  # > 11.5 x 1.2, < the week's end dose 16.5
    h.workout(44, [entry("walking", "cardio", walked, rpe=4)], session_id="s44", duration_min=20)
    advice = _advice(derive_routine(h.events, h.at(44, 2)), "D15")
    assert advice and "walking" in advice[0].text
