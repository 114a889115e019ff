"""Rules 2026.12-1, the safety half of issue 11: each test is one finding of the patient
simulation (or one decision of DOMAIN.md's December section), told as a short story."""

import itertools
from datetime import UTC, date, datetime

import pytest
from domain_builders import History, entry, focus, follow_plan, rx, session

from planner.domain import derive_routine
from planner.domain.engine import apply, fold
from planner.domain.exercises import EXERCISES
from planner.domain.ladder import ease_back
from planner.domain.routine import Dose
from planner.domain.state import Track


def _slugs(r):
    return {p.exercise for b in r.blocks for p in b.prescriptions}


def _clear(h, day, *scopes, hour=0.0):
    return h.add("clearance.recorded", {"clinician": "dr", "scopes": list(scopes)}, h.at(day, hour))


def _progressed(h):
    """Three sessions: on day 7 every exercise that can steps up once (three of them, D11's
    limit of step-ups at one session)."""
    h.baseline(pain_at_rest=1, contraindications=focus("squat", "calf_raise", "cat_cow"))
    for d in (0, 2, 7):
        session(h, d)
    assert rx(h, "strength", "squat", 8).dose.reps == 9


# --- finding 4: only a reviewed red flag resumes ------------------------------------------


@pytest.mark.parametrize(
    "flag, scope",
    [
        ("saddle_numbness", "high_impact"),
        ("saddle_numbness", "core"),
        ("fever", "running"),
        ("major_trauma", "loaded_twisting"),
    ],
)
def test_finding_4_a_clearance_of_another_scope_leaves_a_red_flag_pause_in_place(flag, scope):
    h = History()
    h.baseline(pain_at_rest=1)
    session(h, 0)
    h.pain(1, 3, "rest", red_flags=[flag])
    _clear(h, 2, scope)
    assert derive_routine(h.events, h.at(3)).status == "paused"
    review = _clear(h, 4, "red_flag_reviewed")
    r = derive_routine(h.events, h.at(5))
    assert r.status == "active"
    assert any(
        c.rule == "R6" and c.direction == "resume" and c.caused_by == (review.event_id,)
        for c in r.changes
    )


def test_finding_4_red_flag_reviewed_is_in_the_clearance_contract():
    from backtrack_shared.catalogue import CLEARANCE_SCOPES
    from backtrack_shared.contracts.payloads_v1 import ClearanceRecordedV1

    assert "red_flag_reviewed" in CLEARANCE_SCOPES
    assert (
        ClearanceRecordedV1().validate({"clinician": "dr", "scopes": ["red_flag_reviewed"]}) == {}
    )


# --- finding 5: a clearance resumes what it names -------------------------------------------


def test_finding_5_a_core_clearance_brings_back_core_and_nothing_else():
    h = History()
    h.baseline(pain_at_rest=1)
    s = session(h, 0)
    h.pain(1, 6, "24h_after", session_id=s.payload["session_id"], flare_up_cause="core")
    state = fold(h.events)
    # Intervals replaced by hill sprints wait in the same place R3 keeps core (S2 parks them).
    intervals = EXERCISES["intervals"]
    parked = Track(state.tracks[("cardio", "walking")].rx)
    parked.rx = parked.rx.__class__(
        "intervals",
        "cardio",
        "cardio",
        Dose(sessions_per_week=1),
        0,
        intervals.ladder[0].name,
        parked.rx.last_change,
    )
    state.parked[("cardio", "intervals")] = parked
    apply(state, _clear(h, 10, "core"))
    assert ("core", "plank") in state.tracks
    assert ("cardio", "intervals") not in state.tracks


# --- finding 3: evidence gates need evidence ------------------------------------------------


def test_finding_3_a_day_0_clearance_puts_no_twisting_or_running_in_the_first_sessions():
    h = History()
    h.baseline(walk_min=60, pain_at_rest=1)
    _clear(h, 0, "loaded_twisting", "running", hour=0.2)
    follow_plan(h, 3)
    for day in range(0, 22):
        assert not _slugs(derive_routine(h.events, h.at(day, 0.5))) & {
            "bicycle_crunch",
            "steady_run",
        }, day


def test_finding_3_lunges_need_weeks_of_logged_sessions_not_silence():
    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    for week in range(5):  # one session a week, no pain ever reported: no evidence
        session(h, week * 7)
    assert "lunge" not in _slugs(derive_routine(h.events, h.at(29)))


def test_finding_3_weeks_of_regular_sessions_without_pain_let_lunges_in():
    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    follow_plan(h, 5)
    assert "lunge" in _slugs(derive_routine(h.events, h.at(35)))


# --- finding 2: S2 holds while pain is above green --------------------------------------------


def _with_crunches_and_running():
    h = History()
    h.baseline(walk_min=60, pain_at_rest=1)
    follow_plan(h, 8)
    r = derive_routine(h.events, h.at(56))
    assert {"bicycle_crunch", "steady_run"} <= _slugs(r)
    return h


def test_finding_2_amber_pain_parks_crunches_and_running_until_the_quiet_weeks_return():
    h = _with_crunches_and_running()
    for week in (8, 9, 10):
        for d in (0, 2, 4):
            s = session(h, week * 7 + d)
            h.pain(week * 7 + d, 5, "during", hour=1.5, session_id=s.payload["session_id"])
    r = derive_routine(h.events, h.at(77))
    assert not _slugs(r) & {"bicycle_crunch", "steady_run"}
    held = {x.exercise: x.rule for x in r.held_out}
    assert held.get("bicycle_crunch") == "S2" and held.get("steady_run") == "S2"
    follow_plan(h, 1, start_week=11)  # one calm week is not the two calm weeks twisting needs
    assert "bicycle_crunch" not in _slugs(derive_routine(h.events, h.at(84)))
    follow_plan(h, 4, start_week=12)
    assert {"bicycle_crunch", "steady_run"} <= _slugs(derive_routine(h.events, h.at(112)))


# --- finding 8: R4 reverts the whole last step ----------------------------------------------


def test_finding_8_r4_reverts_every_exercise_stepped_at_the_last_stepping_session():
    h = History()
    _progressed(h)
    stepped = {
        (c.block, c.exercise)
        for c in derive_routine(h.events, h.at(8)).changes
        if c.direction == "up" and c.at == h.at(7, 1)
    }
    assert len(stepped) > 1
    for d in range(1, 8):
        h.pain(d, 1, "rest", hour=8)
    for d in range(8, 15):
        h.pain(d, 5, "rest", hour=8)
    r = derive_routine(h.events, h.at(15))
    reverted = {(c.block, c.exercise) for c in r.changes if c.rule == "R4"}
    assert reverted == stepped
    assert all(c.direction == "revert" for c in r.changes if c.rule == "R4")


# --- finding 9: the declared time zone wins ---------------------------------------------------


def test_finding_9_the_declared_time_zone_decides_the_local_day():
    utc = UTC
    h = History(start=datetime(2025, 3, 2, 0, 0, tzinfo=utc))
    h.baseline(pain_at_rest=1, time_zone="Pacific/Auckland")
    # Monday 2025-03-03 11:30 UTC is Tuesday 00:30 in Auckland (NZDT, +13:00).
    h.workout(1, [entry("walking", "cardio", [{"duration_min": 5}], rpe=3)], "s1", 30, hour=11.5)
    r = derive_routine(h.events, h.at(1, 12))
    assert r.weekly_plan["days"][0]["date"] == "2025-03-05"  # the day after Tuesday


# --- finding 10: time-dependent output at the instant asked -----------------------------------


def test_finding_10_cold_advice_expires_with_time_not_with_the_next_event():
    h = History()
    h.baseline(pain_at_rest=1)
    s = session(h, 0)
    h.pain(1, 6, "24h_after", session_id=s.payload["session_id"], flare_up_cause="strength")
    assert any(a.rule == "F3" for a in derive_routine(h.events, h.at(2)).advice)
    assert not any(a.rule == "F3" for a in derive_routine(h.events, h.at(41)).advice)


def test_finding_10_too_few_sessions_and_next_session_count_from_as_of():
    h = History()
    h.baseline(pain_at_rest=1)
    for d in (0, 2, 4):
        session(h, d)
    r = derive_routine(h.events, h.at(28))
    assert any(a.rule == "F1" and "Only 0 session" in a.text for a in r.advice)
    nxt = r.weekly_plan["next_session"]
    assert date.fromisoformat(nxt["date"]) >= h.at(28).date()


# --- D12: R2 is lasting exercise pain ---------------------------------------------------------


def test_d12_24h_pain_one_point_above_usual_is_everyday_pain_not_r2():
    h = History()
    _progressed(h)
    s = session(h, 9)
    h.pain(10, 2, "24h_after", session_id=s.payload["session_id"])
    r = derive_routine(h.events, h.at(10, 3))
    assert not [c for c in r.changes if c.rule == "R2"]


def test_d12_r2_at_usual_plus_two_eases_one_dimension_the_last_raised():
    h = History()
    _progressed(h)
    s = session(h, 9)
    h.pain(10, 3, "24h_after", session_id=s.payload["session_id"])
    r = derive_routine(h.events, h.at(10, 3))
    eased = [c for c in r.changes if c.rule == "R2" and c.direction == "down"]
    assert eased
    for c in eased:
        changed = [
            f
            for f in ("hold_s", "sets", "reps", "load_kg", "duration_min")
            if getattr(c.before, f) != getattr(c.after, f)
        ]
        assert len(changed) == 1, c
    squat = r.prescription("squat", "strength")
    assert (squat.dose.sets, squat.dose.reps) == (2, 8)  # 2 x 9 back to 2 x 8, sets untouched


def test_d12_easing_a_loaded_exercise_after_a_rep_raise_takes_back_reps_not_load():
    from planner.domain.rules.ease import d12_ease_one_dimension
    from planner.domain.state import State, Why

    state = State()
    calf = state.add(
        EXERCISES["calf_raise"],
        block="strength",
        kind="strength",
        dose=Dose(sets=2, reps=8, load_kg=5.0, sessions_per_week=3),
        level=1,
        why=Why("P2", "start", (), datetime(2025, 3, 3, tzinfo=UTC)),
    )
    state.change(
        calf,
        why=Why("P2", "one more rep", ("s1", "s2"), datetime(2025, 3, 10, tzinfo=UTC)),
        dose=Dose(sets=2, reps=9, load_kg=5.0, sessions_per_week=3),
        level=1,
        direction="up",
    )
    eased, level = d12_ease_one_dimension(state, calf, calf.rx.dose, 1)
    assert (eased.sets, eased.reps, eased.load_kg, level) == (2, 8, 5.0, 1)


# --- D13: a flare eases what caused it --------------------------------------------------------


def test_d13_a_flare_blamed_on_strength_eases_strength_and_freezes_it():
    h = History()
    _progressed(h)
    session(h, 9)
    flare = h.pain(11, 7, "rest", hour=3, flare_up_cause="strength")  # no session named
    r = derive_routine(h.events, h.at(11, 4))
    squat = r.prescription("squat", "strength")
    assert squat.dose.reps == 8 and squat.last_change.rule == "D13"
    assert squat.last_change.caused_by == (flare.event_id,)
    assert r.prescription("cat_cow", "stretching").last_change.rule != "D13"  # not its kind
    session(h, 14)
    assert rx(h, "strength", "squat", 15).dose.reps == 8  # frozen: one clean session is not two


def test_d13_a_flare_that_r2_already_eased_is_not_eased_twice():
    h = History()
    _progressed(h)
    s = session(h, 9)
    h.pain(10, 7, "24h_after", session_id=s.payload["session_id"], flare_up_cause="strength")
    squat = rx(h, "strength", "squat", 11)
    assert (squat.dose.sets, squat.dose.reps) == (2, 8)


# --- D21: a red pain report finds its session -------------------------------------------------


def test_d21_a_red_report_naming_the_exercise_7_hours_later_applies_to_that_session():
    h = History()
    _progressed(h)
    session(h, 9)
    p = h.pain(9, 7, "during", hour=8, exercise="squat")  # no session id, 7 h after
    squat = rx(h, "strength", "squat", 10)
    assert squat.last_change.rule == "R1" and squat.last_change.caused_by == (p.event_id,)


# --- D22: the 7-day pace is 7 local days --------------------------------------------------------


def test_d22_a_week_after_an_evening_step_the_next_morning_session_may_step():
    h = History()
    h.baseline(pain_at_rest=1)
    session(h, 0, only=("squat",))
    session(h, 2, only=("squat",))
    h.workout(7, [entry("squat", "strength", [{"reps": 8}, {"reps": 8}], rpe=3)], "e7", 20, hour=11)
    assert rx(h, "strength", "squat", 8).dose.reps == 9  # stepped on day 7 at 20:00 local
    for day, hour in ((9, 1), (14, 0)):  # day 14 at 09:00 local: 6.5 days, but 7 local days
        h.workout(
            day,
            [entry("squat", "strength", [{"reps": 9}, {"reps": 9}], rpe=3)],
            f"e{day}",
            20,
            hour=hour,
        )
    assert rx(h, "strength", "squat", 15).dose.reps == 10


# --- finding 11: the lighter week and rising pain ---------------------------------------------


def test_finding_11_the_lighter_week_does_not_end_at_full_dose_while_pain_is_rising():
    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    follow_plan(h, 6)
    r = derive_routine(h.events, h.at(36))
    assert r.deload.get("active"), r.deload
    for d in range(28, 35):
        h.pain(d, 1, "rest", hour=8)
    for d in range(35, 43):
        h.pain(d, 4, "rest", hour=8)
    follow_plan(h, 1, start_week=6)
    r = derive_routine(h.events, h.at(43))
    assert not any(c.direction == "restore" and c.exercise for c in r.changes if c.at >= h.at(42))
    assert r.deload.get("active")


# --- finding 7 and D14: back from a break -------------------------------------------------------


def _eight_good_weeks(h):
    h.baseline(walk_min=30, pain_at_rest=1)
    follow_plan(h, 8)


def _stepped_down(before, steps):
    """`before` taken `steps` D4 steps down its ladder (fewer where the ladder ends)."""
    from planner.domain.ladder import ease_back

    dose, level = before.dose, before.variation_level
    for _ in range(steps):
        lower = ease_back(EXERCISES[before.exercise], dose, level)
        if lower is None:
            break
        dose, level = lower
    return dose, level


def test_d14_after_three_weeks_without_a_session_every_exercise_resumes_three_steps_down():
    h = History()
    _eight_good_weeks(h)
    before = derive_routine(h.events, h.at(55))
    back = session(h, 56 + 25)  # last session on day 53: 28 days without one
    after = derive_routine(h.events, h.at(56 + 25, 3))
    assert not after.deload["active"]  # a break is not "uninterrupted progression" (B3)
    for block, name in (
        ("strength", "squat"),
        ("strength", "calf_raise"),
        ("core", "superman"),  # D11: by week 8 bicycle crunches took the plank's place
        ("stretching", "cobra"),
        ("cardio", "walking"),
    ):
        b, a = before.prescription(name, block), after.prescription(name, block)
        assert a.last_change.rule == "D14" and back.event_id in a.last_change.caused_by, name
        assert (a.dose, a.variation_level) == _stepped_down(b, 3), (name, b.dose, a.dose)


def test_d14_after_a_red_flag_pause_the_review_resumes_a_step_down_per_week_paused():
    h = History()
    _eight_good_weeks(h)
    before = derive_routine(h.events, h.at(55))
    h.pain(54, 3, "rest", red_flags=["fever"])
    review = _clear(h, 54 + 15, "red_flag_reviewed")  # paused for two full weeks
    after = derive_routine(h.events, h.at(54 + 15, 1))
    walking = after.prescription("walking", "cardio")
    d14 = [c for c in after.changes if c.rule == "D14" and c.exercise == "walking"]
    assert d14 and d14[-1].caused_by == (review.event_id,)
    assert d14[-1].after == _stepped_down(before.prescription("walking", "cardio"), 2)[0]
    # B4 may lower it further for the ramp (finding 7), never raise it back
    assert walking.dose.duration_min <= d14[-1].after.duration_min
    assert walking.last_change.rule in ("D14", "B4")


def _fever_pause_and_back(derive):
    """Eight weeks on the plan, a 3-week fever pause, four weeks back, each session logging the
    minutes its routine asks for at the same effort: the logged 7:28-day ratios after it."""
    from planner.domain.load import acwr, session_load

    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    for week in range(15):
        for d in (0, 2, 4):
            day = week * 7 + d
            r = derive(h.events, h.at(day, 0.5))
            if 54 <= day < 75 or r.status != "active":
                continue
            minutes = sum(
                (p.dose.duration_min or 0)
                + (p.dose.sets or 0) * ((p.dose.reps or 0) * 3 + (p.dose.hold_s or 0) + 60) / 60
                for b in r.blocks
                for p in b.prescriptions
            )
            h.workout(day, [entry("walking", "cardio", [], rpe=4)], f"b{day}", round(minutes, 1))
        if week == 7:
            h.pain(53, 3, "rest", hour=5, red_flags=["fever"])
            _clear(h, 53 + 21, "red_flag_reviewed", hour=6)
    loads = [
        (e.occurred_at, session_load(e.payload)) for e in h.events if e.type == "workout.logged"
    ]
    back = [e for e in h.events if e.type == "workout.logged" and e.occurred_at > h.at(74)]
    return back[0].payload["duration_min"], [acwr(loads, h.at(day, 2))[2] for day in (77, 91, 98)]


def test_finding_7_after_a_three_week_fever_pause_the_ramp_starts_lower_than_in_full():
    from planner.domain.frozen import r2025_06_1

    old_minutes, old_ratios = _fever_pause_and_back(r2025_06_1.derive_routine)
    new_minutes, new_ratios = _fever_pause_and_back(derive_routine)
    assert new_minutes < old_minutes * 0.8  # D14's three steps and B4's guard, not every dose
    assert new_ratios[0] < old_ratios[0]  # the first week back (2.35 against 2.67)
    # Three weeks back the ratio is within B4 again. (Two weeks after a 3-week pause no dose
    # keeps the coupled 7:28 ratio at 1.5: the 28 days hold nothing from before the pause.)
    assert new_ratios[-1] <= 1.5


# --- D9: tolerable amber ------------------------------------------------------------------------


def _amber_weeks(next_morning):
    """Six weeks of sessions with 4/10 during each; `next_morning` the report the morning after
    (None: no report)."""
    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    for week in range(6):
        for d in (0, 2, 4):
            day = week * 7 + d
            s = session(h, day)
            h.pain(day, 4, "during", hour=1.5, session_id=s.payload["session_id"])
            if next_morning is not None:
                h.pain(
                    day, next_morning, "next_morning", hour=22, session_id=s.payload["session_id"]
                )
    return h, derive_routine(h.events, h.at(42))


def test_d9_amber_that_settles_by_the_next_morning_progresses_at_half_pace():
    _, r = _amber_weeks(next_morning=1)
    ups = [c for c in r.changes if c.direction == "up" and c.exercise == "squat"]
    assert len(ups) >= 2 and all(c.rule == "D9" for c in ups)
    for a, b in itertools.pairwise(ups):
        assert (b.at.date() - a.at.date()).days >= 14
    assert r.prescription("squat", "strength").dose.reps > 8


def test_d9_amber_that_does_not_settle_or_is_not_followed_up_holds_the_dose():
    for morning in (4, None):
        _, r = _amber_weeks(next_morning=morning)
        assert not [c for c in r.changes if c.direction == "up" and c.block == "strength"], morning
        assert r.prescription("squat", "strength").hold.rule in ("R5", "B1")


def test_d14_the_routine_asked_for_after_a_break_is_already_the_lighter_one():
    """The first session back is done from the routine shown before it (finding 7)."""
    h = History()
    _eight_good_weeks(h)
    before = derive_routine(h.events, h.at(55))
    shown = derive_routine(h.events, h.at(56 + 25, 0.5))  # 28 days after the last session
    walking = shown.prescription("walking", "cardio")
    assert walking.last_change.rule == "D14"
    assert (walking.dose, walking.variation_level) == _stepped_down(
        before.prescription("walking", "cardio"), 3
    )
    session(h, 56 + 25)
    after = derive_routine(h.events, h.at(56 + 25, 3))
    assert after.prescription("walking", "cardio").dose == walking.dose


def test_finding_2_a_core_clearance_brings_crunches_back_only_through_their_gate():
    """Found by the simulator: R3's resume put bicycle crunches back days after the flare."""
    h = _with_crunches_and_running()
    s = session(h, 56)
    h.pain(57, 6, "24h_after", session_id=s.payload["session_id"], flare_up_cause="core")
    _clear(h, 60, "core")
    r = derive_routine(h.events, h.at(60, 1))
    # D11: by week 8 the crunches took the plank's place; superman is the core that returns
    assert "superman" in _slugs(r) and "bicycle_crunch" not in _slugs(r)
    follow_plan(h, 3, start_week=9)
    assert "bicycle_crunch" in _slugs(derive_routine(h.events, h.at(84)))


def test_d14_an_exercise_with_no_step_down_does_not_step_up_at_the_first_session_back():
    """Simulator (irregular#96508444, 52 weeks, seed 3): a break eased every exercise it could;
    the one already at the foot of its ladder kept the clean sessions from before the break and
    stepped up at the first session back. A break voids that evidence: back from it, every
    exercise earns its next step with sessions after it (D14: it resumes, it does not climb)."""
    h = History()
    h.baseline(walk_min=5, pain_at_rest=0, contraindications=focus("walking"))
    for day in (0, 2, 4, 6):
        session(h, day)
    foot = rx(h, "cardio", "walking", 6.5)
    assert foot.last_change.direction != "up"
    assert ease_back(EXERCISES["walking"], foot.dose, foot.variation_level) is None
    back = session(h, 6 + 21)
    after = rx(h, "cardio", "walking", 27.5)
    assert after.dose == foot.dose, "stepped up at the first session back"
    assert after.hold is not None and after.hold.rule == "P5"  # two sessions since the break
    routine = derive_routine(h.events, h.at(28))
    assert not [c for c in routine.changes if c.at == back.occurred_at and c.direction == "up"]
