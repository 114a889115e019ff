"""The simulator's own logic, where it is not obvious: dose arithmetic, the calendar, the
evidence weeks, and that each invariant check does flag what it is named after."""

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.domain import derive_routine
from planner.domain.routine import Change, Dose, Prescription, Routine
from tests.simulation import doses
from tests.simulation import event_checks as e
from tests.simulation import routine_checks as r
from tests.simulation import step_evidence as s
from tests.simulation.driver import Simulation, simulate
from tests.simulation.events import EventWriter
from tests.simulation.local_calendar import PatientClock
from tests.simulation.moment import Memory, Moment, PendingStep, at_bottom
from tests.simulation.patients import MODEL_NAMES, MODELS, Patient, first_day
from tests.simulation.record import Done, PainReport, Record, SessionRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def _start() -> tuple[Routine, EventWriter]:
    writer = EventWriter("u")
    event = writer.event("baseline.assessed", {"walk_min": 20.0, "pain_at_rest": 1}, T0)
    return derive_routine([event], T0), writer


def _rx(routine: Routine, exercise: str, block: str | None = None, **dose: object) -> Prescription:
    rx = routine.prescription(exercise, block)
    assert rx is not None
    return replace(rx, dose=replace(rx.dose, **dose))


def _with(routine: Routine, *rxs: Prescription, **fields: object) -> Routine:
    by_key = {(p.block, p.exercise): p for p in rxs}
    blocks = tuple(
        replace(
            b, prescriptions=tuple(by_key.get((p.block, p.exercise), p) for p in b.prescriptions)
        )
        for b in routine.blocks
    )
    return replace(routine, blocks=blocks, **fields)


def _moment(
    routine: Routine,
    *,
    changes: tuple[Change, ...] = (),
    record: Record | None = None,
    memory: Memory | None = None,
    session: SessionRecord | None = None,
    previous: Routine | None = None,
    at: datetime = T0,
) -> Moment:
    writer = EventWriter("u")
    event = writer.event("workout.logged", {"session_id": "s", "exercises": []}, at)
    patient = Patient(random.Random(1), 4)
    patient.clock = PatientClock.declared_zone("UTC")
    return Moment(
        event,
        routine,
        previous,
        changes,
        record or Record(T0, 1),
        patient,
        memory or Memory(),
        session,
    )


def _up(
    exercise: str, before: Dose, after: Dose, at: datetime = T0, block: str = "strength"
) -> Change:
    return Change("P2", "up", ("e1",), at, block, exercise, "up", before, after)


# --- dose arithmetic -------------------------------------------------------------------


def test_ten_percent_of_4_5_kg_rounded_down_is_no_step() -> None:
    assert doses.raised_load(4.5) == doses.frac(4.5)
    assert doses.raised_load(5.0) == doses.frac(5.5)


def test_a_dose_stuck_at_4_5_kg_has_no_way_up_unless_a_set_is_left() -> None:
    routine, _ = _start()
    loaded = _rx(routine, "calf_raise", sets=3, reps=12, load_kg=4.5)
    loaded = replace(loaded, variation_level=1)
    assert not doses.has_way_up(loaded, 0)
    assert doses.has_way_up(replace(loaded, dose=replace(loaded.dose, sets=2)), 0)
    assert doses.has_way_up(replace(loaded, dose=replace(loaded.dose, load_kg=5.0)), 0)


def test_cardio_has_no_way_up_at_150_minutes_a_week() -> None:
    routine, _ = _start()
    walk = routine.prescription("walking", "cardio")
    assert walk is not None
    assert doses.has_way_up(walk, 40)
    assert not doses.has_way_up(walk, 150)


def test_the_starting_session_is_estimated_as_d11_says() -> None:
    routine, _ = _start()
    full = [p for b in routine.blocks for p in b.prescriptions]
    # warm-up 10 + 6 stretches x (2 x 30 s + 60 s) + 5 strength x (2 x 8 x 3 s + 60 s)
    # + plank (2 x 30 s + 60 s) + superman (2 x 8 x 3 s + 60 s) + walking 10 + cool-down 5
    expected = 10 + 6 * 2 + 5 * 108 / 60 + 2 + 108 / 60 + 10 + 5
    assert abs(doses.session_minutes(full) - expected) < 1e-9


def test_dimensions_a_change_moves() -> None:
    d = Dose(sets=2, reps=12, load_kg=5.0)
    assert doses.changed_dimensions(d, replace(d, reps=8, load_kg=5.5), 1, 1) == (["load_kg"], [])
    unloaded = Dose(sets=2, reps=12)
    assert doses.changed_dimensions(unloaded, replace(unloaded, reps=8, load_kg=5.0), 0, 1)[0] == [
        "variation"
    ]
    eased = doses.changed_dimensions(Dose(sets=3, reps=10), Dose(sets=2, reps=8), 0, 0)
    assert sorted(eased[1]) == ["reps", "sets"]
    held = doses.changed_dimensions(Dose(hold_s=60), Dose(hold_s=30), 0, 1)
    assert held == (["variation"], [])


# --- calendar and evidence ----------------------------------------------------------------


def test_a_declared_zone_gives_the_local_day_of_a_utc_instant() -> None:
    honolulu = PatientClock.declared_zone("Pacific/Honolulu")
    at = honolulu.instant(date(2026, 3, 2), time(23, 30))
    assert at == datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    assert honolulu.local_day(at) == date(2026, 3, 2)
    tonga = PatientClock.declared_zone("Pacific/Tongatapu")
    at = tonga.instant(date(2026, 3, 3), time(0, 30))
    assert at.date() == date(2026, 3, 2) and tonga.local_day(at) == date(2026, 3, 3)


def test_next_morning_after_a_session_just_past_midnight_is_the_same_day() -> None:
    rng = random.Random(3)
    sim = Simulation(Patient(rng, 1), 3, date(2026, 3, 2))
    sim.patient.clock = PatientClock.declared_zone("Pacific/Honolulu")
    from tests.simulation.patients import Report

    late = sim.patient.clock.instant(date(2026, 3, 3), time(0, 20))
    evening = sim.patient.clock.instant(date(2026, 3, 3), time(18, 0))
    morning = Report(1, "next_morning")
    assert sim.patient.clock.local_day(sim._when(morning, late)) == date(2026, 3, 3)
    assert sim.patient.clock.local_day(sim._when(morning, evening)) == date(2026, 3, 4)


def _session(
    record: Record,
    at: datetime,
    key: tuple[str, str] = ("strength", "squat"),
    rx: Prescription | None = None,
    during: int | None = None,
) -> SessionRecord:
    routine, _ = _start()
    rx = rx or routine.prescription(key[1], key[0])
    assert rx is not None
    session = SessionRecord(
        f"s{len(record.sessions)}",
        f"e{len(record.sessions)}",
        at,
        at.date(),
        "full",
        {key: Done(rx, True, False, False)},
        50.0,
        4.0,
    )
    record.add_session(session)
    if during is not None:
        report = PainReport(
            f"p{len(record.pain)}", at, at.date(), during, "during", session.session_id, None
        )
        record.add_pain(report)
        session.pain.append(report)
    return session


def test_silence_is_not_a_quiet_week() -> None:
    """Sessions on days 1, 4, 8, 11 from Monday T0: two sliding weeks to day 13 hold two each."""
    record = Record(T0, 1)
    assert not record.quiet_evidence_weeks(T0 + timedelta(days=14), 2, 2, UTC)
    for day in (1, 4, 8, 11):
        _session(record, T0 + timedelta(days=day), during=1)
    assert record.quiet_evidence_weeks(T0 + timedelta(days=13), 2, 2, UTC)
    _session(record, T0 + timedelta(days=12), during=3)
    assert not record.quiet_evidence_weeks(T0 + timedelta(days=13), 2, 2, UTC)


# --- the checks flag what they are named after ----------------------------------------------


def test_four_step_ups_at_one_session_are_flagged() -> None:
    routine, _ = _start()
    d = Dose(sets=2, reps=8)
    ups = tuple(_up(x, d, replace(d, reps=9)) for x in ("squat", "calf_raise", "chest_press"))
    assert not e.at_most_3_step_ups_per_session(_moment(routine, changes=ups))
    ups += (_up("ball_squeeze", d, replace(d, reps=9)),)
    assert e.at_most_3_step_ups_per_session(_moment(routine, changes=ups))


def test_load_steps_above_10_percent_or_off_the_half_kg_are_flagged() -> None:
    routine, _ = _start()
    d = Dose(sets=2, reps=12, load_kg=5.0)
    check = e.load_steps_at_most_10_percent_in_half_kg
    assert not check(_moment(routine, changes=(_up("squat", d, replace(d, load_kg=5.5)),)))
    assert check(_moment(routine, changes=(_up("squat", d, replace(d, load_kg=6.0)),)))
    assert check(_moment(routine, changes=(_up("squat", d, replace(d, load_kg=5.25)),)))


def test_a_hold_step_of_15_s_is_flagged() -> None:
    routine, _ = _start()
    d = Dose(hold_s=30, sets=2)
    change = _up("cobra", d, replace(d, hold_s=45), block="stretching")
    assert e.hold_steps_at_most_10_s(_moment(routine, changes=(change,)))


def test_a_second_step_within_7_local_days_is_flagged() -> None:
    routine, _ = _start()
    d = Dose(sets=2, reps=8)
    memory = Memory(last_up={("strength", "squat"): T0 - timedelta(days=6)})
    change = _up("squat", d, replace(d, reps=9))
    assert e.one_step_per_7_local_days(_moment(routine, changes=(change,), memory=memory))
    memory.last_up[("strength", "squat")] = T0 - timedelta(days=7)
    assert not e.one_step_per_7_local_days(_moment(routine, changes=(change,), memory=memory))


def test_hard_days_back_to_back_in_the_plan_are_flagged() -> None:
    routine, _ = _start()
    days = [
        {"date": "2026-03-03", "day": "full", "exercises": ["strength:squat"]},
        {"date": "2026-03-04", "day": "full", "exercises": ["core:plank"]},
    ]
    plan = {**routine.weekly_plan, "days": days}
    assert r.no_strength_or_core_on_consecutive_days(_moment(replace(routine, weekly_plan=plan)))
    days[1]["exercises"] = ["cardio:walking"]
    assert not r.no_strength_or_core_on_consecutive_days(
        _moment(replace(routine, weekly_plan=plan))
    )


def test_an_active_routine_after_an_unreviewed_red_flag_is_flagged() -> None:
    routine, _ = _start()
    memory = Memory(red_flag_since=T0 - timedelta(days=1))
    assert r.red_flag_pauses_until_reviewed(_moment(routine, memory=memory))
    paused = replace(routine, status="paused", blocks=())
    assert not r.red_flag_pauses_until_reviewed(_moment(paused, memory=memory))


def test_a_stuck_dose_without_a_maintenance_mark_is_flagged() -> None:
    routine, _ = _start()
    stuck = replace(_rx(routine, "calf_raise", sets=3, reps=12, load_kg=4.5), variation_level=1)
    assert r.every_dose_has_a_way_up(_moment(_with(routine, stuck)))

    @dataclass(frozen=True)
    class Marked(Prescription):
        maintenance: str = "top of the ladder"

    # (rules with D20 have the field themselves: the mark is set, not left at their None)
    fields = {f: getattr(stuck, f) for f in stuck.__dataclass_fields__}
    marked = Marked(**{**fields, "maintenance": "top of the ladder"})
    assert not r.every_dose_has_a_way_up(_moment(_with(routine, marked)))


def test_the_prescribed_acute_chronic_ratio_above_1_5_is_flagged() -> None:
    routine, _ = _start()
    record = Record(T0, 1)
    for day in range(0, 21, 7):  # one session a week for three weeks...
        _session(record, T0 + timedelta(days=day))
    for day in (22, 24, 26, 28):  # ...then four in the last one
        last = _session(record, T0 + timedelta(days=day))
    m = _moment(routine, record=record, session=last, at=last.at)
    assert r.acute_chronic_ratio_at_most_1_5(m)  # 4 / ((4 + 3) / 4) = 2.29
    quiet = Record(T0, 1)
    _session(quiet, T0)
    back = _session(quiet, T0 + timedelta(days=29))
    memory = Memory()
    assert not r.acute_chronic_ratio_at_most_1_5(
        _moment(routine, record=quiet, session=back, at=back.at, memory=memory)
    )
    assert memory.acwr_skipped == 1


def test_the_acute_chronic_ratio_counts_local_days_and_needs_28_days_of_data() -> None:
    """Weeks are local-calendar weeks (DOMAIN.md, "Calendar"): a session an hour later in the
    day 7 days before is not in this week (in 168 hours it would be: 6 / ((6 + 9) / 4) = 1.6,
    against 5 / ((5 + 9) / 4) = 1.43 by the calendar). And a window a D14 break reaches into
    holds less than 28 days of data: the ratio there is not judged."""
    routine, _ = _start()
    steady = Record(T0, 1)
    for week in range(4):
        for d in (0, 2, 4):
            _session(steady, T0 + timedelta(days=week * 7 + d, hours=1))
    for d in (0, 1, 2, 3, 4):
        last = _session(steady, T0 + timedelta(days=28 + d))
    assert not r.acute_chronic_ratio_at_most_1_5(
        _moment(routine, record=steady, session=last, at=last.at)
    )
    back = Record(T0, 1)
    for day in range(0, 21, 2):
        _session(back, T0 + timedelta(days=day))
    for day in (36, 38, 40, 42, 44):  # a 16-day break, then back at the same dose
        last = _session(back, T0 + timedelta(days=day))
    memory = Memory()
    assert not r.acute_chronic_ratio_at_most_1_5(
        _moment(routine, record=back, session=last, at=last.at, memory=memory)
    )
    assert memory.acwr_skipped == 1


def _step(record: Record, at: datetime, rx: Prescription) -> PendingStep:
    change = _up("squat", rx.dose, replace(rx.dose, reps=(rx.dose.reps or 8) + 1), at)
    return PendingStep(change, record.sessions[-1], ("strength", "squat"), None, None)


def test_a_step_after_one_clean_session_is_flagged() -> None:
    routine, _ = _start()
    rx = routine.prescription("squat")
    assert rx is not None
    patient = Patient(random.Random(1), 4)
    patient.clock = PatientClock.declared_zone("UTC")
    record = Record(T0, 1)
    _session(record, T0 + timedelta(days=1), during=1)
    assert s.p5_two_clean_sessions_at_the_dose(
        _step(record, T0 + timedelta(days=1), rx), record, patient
    )
    _session(record, T0 + timedelta(days=3), during=7)  # red pain: not clean
    assert s.p5_two_clean_sessions_at_the_dose(
        _step(record, T0 + timedelta(days=3), rx), record, patient
    )
    _session(record, T0 + timedelta(days=5), during=1)
    assert not s.p5_two_clean_sessions_at_the_dose(
        _step(record, T0 + timedelta(days=5), rx), record, patient
    )


def test_a_session_the_day_after_a_hard_day_does_not_count() -> None:
    routine, _ = _start()
    rx = routine.prescription("squat")
    assert rx is not None
    patient = Patient(random.Random(1), 4)
    record = Record(T0, 1)
    _session(record, T0 + timedelta(days=1), during=1)
    _session(record, T0 + timedelta(days=2), during=1)
    step = _step(record, T0 + timedelta(days=2), rx)
    assert s.d16_day_after_a_hard_day_does_not_count(step, record, patient)
    assert not s.p5_two_clean_sessions_at_the_dose(step, record, patient)


def test_a_step_on_amber_that_did_not_settle_is_flagged() -> None:
    routine, _ = _start()
    rx = routine.prescription("squat")
    assert rx is not None
    patient = Patient(random.Random(1), 4)
    record = Record(T0, 1)
    _session(record, T0 + timedelta(days=1), during=1)
    amber = _session(record, T0 + timedelta(days=3), during=4)
    morning = PainReport(
        "m", amber.at + timedelta(hours=14), amber.day, 3, "next_morning", amber.session_id, None
    )
    record.add_pain(morning)
    amber.pain.append(morning)
    step = _step(record, amber.at, rx)
    assert s.d9_no_step_on_unsettled_amber(step, record, patient)  # 3 > usual 1 + 1
    amber.pain[-1] = replace(morning, score=2)
    assert not s.d9_no_step_on_unsettled_amber(step, record, patient)


# --- the driver -------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(MODELS), st.integers(min_value=0, max_value=10_000))
def test_the_incremental_fold_gives_what_a_whole_fold_gives(
    model: type[Patient], seed: int
) -> None:
    """The simulator drives the incremental fold; what it checks must be what derive_routine
    says for the same history: events in order, each taken, the same final routine."""
    rng = random.Random(f"{model.model}/{seed}")
    sim = Simulation(model(rng, 3), seed, first_day(rng))
    result = sim.run()
    assert result.refolds == 0
    order = [(ev.occurred_at, ev.stream_version) for ev in sim.history]
    assert order == sorted(order)
    last = sim.history[-1].occurred_at
    assert sim.routine is not None
    assert sim.routine.to_dict() == derive_routine(sim.history, last).to_dict()
    later = last + timedelta(days=9, hours=5)  # what the patient reads on a quiet day
    assert sim._routine_at(later).to_dict() == derive_routine(sim.history, later).to_dict()


def test_a_seed_reproduces_a_patient() -> None:
    a, b = simulate(MODELS[3], 11, 4), simulate(MODELS[3], 11, 4)
    assert (a.sessions, a.violations, a.step_ups_per_session) == (
        b.sessions,
        b.violations,
        b.step_ups_per_session,
    )


def test_a_plan_with_more_cardio_days_than_prescribed_is_flagged() -> None:
    routine, _ = _start()
    walk = ["cardio:walking"]
    days = [{"date": f"2026-03-0{i + 3}", "day": "light", "exercises": walk} for i in range(5)]
    plan = {**routine.weekly_plan, "days": days}
    m = _moment(replace(routine, weekly_plan=plan))
    assert r.the_plan_keeps_to_sessions_per_week(m)  # walking: 4 a week, planned on 5 days
    long_walk = _rx(routine, "walking", "cardio", duration_min=31.0)
    assert r.weekly_cardio_at_most_150_min(
        _moment(_with(replace(routine, weekly_plan=plan), long_walk))
    )


def test_r4_that_reverts_part_of_the_last_step_is_flagged() -> None:
    routine, _ = _start()
    d = Dose(sets=2, reps=9)
    revert = Change(
        "R4", "revert", ("p",), T0, "strength", "squat", "revert", d, replace(d, reps=8)
    )
    memory = Memory(last_stepping={("strength", "squat"), ("strength", "calf_raise")})
    assert e.r4_reverts_the_whole_last_step(_moment(routine, changes=(revert,), memory=memory))
    memory.last_stepping = {("strength", "squat")}
    assert not e.r4_reverts_the_whole_last_step(_moment(routine, changes=(revert,), memory=memory))


def test_a_core_clearance_that_brings_back_cardio_is_flagged() -> None:
    routine, _ = _start()
    no_cardio = replace(routine, blocks=tuple(b for b in routine.blocks if b.block != "cardio"))
    writer = EventWriter("u")
    clearance = writer.event("clearance.recorded", {"clinician": "Dr", "scopes": ["core"]}, T0)
    m = replace(_moment(routine, previous=no_cardio), event=clearance)
    assert e.a_clearance_resumes_only_what_it_names(m)
    no_core = replace(routine, blocks=tuple(b for b in routine.blocks if b.block != "core"))
    assert not e.a_clearance_resumes_only_what_it_names(replace(m, previous=no_core))


def test_the_first_session_after_a_break_at_the_old_dose_is_flagged() -> None:
    routine, _ = _start()
    record = Record(T0, 1)
    _session(record, T0, key=("stretching", "cobra"))
    back = _session(record, T0 + timedelta(days=15), key=("stretching", "cobra"))
    cobra = routine.prescription("cobra")
    assert cobra is not None
    for sess in record.sessions:  # one step above the bottom, so there is a step down
        sess.done[("stretching", "cobra")].rx = replace(cobra, dose=replace(cobra.dose, hold_s=40))
    m = _moment(routine, record=record, session=back, at=back.at)
    assert e.d14_back_from_a_break_resumes_lower(m)
    back.done[("stretching", "cobra")].rx = replace(cobra, dose=replace(cobra.dose, hold_s=35))
    assert not e.d14_back_from_a_break_resumes_lower(m)


def test_cold_advice_four_days_after_a_flare_is_flagged() -> None:
    from planner.domain.routine import Advice
    from tests.simulation import instant_checks as i

    routine, _ = _start()
    record = Record(T0, 1)
    record.add_pain(PainReport("f", T0, T0.date(), 4, "24h_after", None, None, "core"))
    cold = replace(routine, advice=(*routine.advice, Advice("F3", "caution", "cold")))
    patient = Patient(random.Random(1), 4)
    assert not i.f3_cold_advice_expires(cold, T0 + timedelta(hours=71), record, patient)
    assert i.f3_cold_advice_expires(cold, T0 + timedelta(days=4), record, patient)
    assert not i.f3_cold_advice_expires(routine, T0 + timedelta(days=4), record, patient)


def test_calendar_weeks_also_count_as_evidence_weeks() -> None:
    """Sessions Mon and Wed of two calendar weeks: the 7 days to Sunday of the next week hold
    none, but the two whole calendar weeks before it are quiet evidence weeks."""
    record = Record(T0, 1)
    for day in (0, 2, 7, 9):
        _session(record, T0 + timedelta(days=day), during=1)
    sunday_after = T0 + timedelta(days=20)
    assert record.quiet_evidence_weeks(sunday_after, 2, 2, UTC)
    _session(record, T0 + timedelta(days=15), during=4)  # amber this week: not quiet
    assert not record.quiet_evidence_weeks(sunday_after, 2, 2, UTC)


def test_the_deterministic_set_covers_both_far_time_zones() -> None:
    from tests.simulation.cases import CASES, WEEKS
    from tests.simulation.patients import FarTimeZone

    zones = {
        FarTimeZone(random.Random(f"time_zone/{seed}"), WEEKS).clock.declared
        for model, seed in CASES
        if model is FarTimeZone
    }
    assert zones == {"Pacific/Honolulu", "Pacific/Tongatapu"}


def test_six_training_days_in_seven_on_the_plan_are_flagged() -> None:
    routine, _ = _start()
    record = Record(T0, 1)
    for day in (0, 1, 2, 3, 5, 6):  # one rest day in the 7
        last = _session(record, T0 + timedelta(days=day))
    assert r.two_rest_days_a_week_when_the_plan_is_followed(
        _moment(routine, record=record, session=last, at=last.at)
    )
    last.planned_kind = "off-plan"  # the patient chose that day itself: not the plan's doing
    assert not r.two_rest_days_a_week_when_the_plan_is_followed(
        _moment(routine, record=record, session=last, at=last.at)
    )


def test_four_weeks_of_sessions_without_a_step_up_ask_for_a_review() -> None:
    from planner.domain.routine import Advice

    routine, _ = _start()
    record = Record(T0, 1)
    for day in range(0, 31, 2):
        last = _session(record, T0 + timedelta(days=day))
    memory = Memory(last_up={("strength", "squat"): T0 + timedelta(days=1)})
    m = _moment(routine, record=record, session=last, at=last.at, memory=memory)
    assert r.d10_a_plateau_is_reviewed(m)
    reviewed = replace(routine, advice=(Advice("D10", "info", "review"),))
    assert not r.d10_a_plateau_is_reviewed(replace(m, routine=reviewed))
    memory.last_up[("strength", "squat")] = T0 + timedelta(days=10)
    assert not r.d10_a_plateau_is_reviewed(m)


def test_after_a_break_begun_in_the_lighter_week_the_old_dose_is_the_one_the_week_ends_at() -> None:
    """D14 counts its steps down from the dose an exercise stands at; B3's lighter week lies over
    it. Walking at 16.5 min, last session in the lighter week at 11.5, 22 days off: three steps
    down from 16.5 land on 11.5 (irregular patients), which is D14 kept; back at 16.5 is not."""
    routine, _ = _start()
    record = Record(T0, 1)
    key = ("cardio", "walking")
    walking = routine.prescription("walking", "cardio")
    assert walking is not None
    full, light = (replace(walking.dose, duration_min=m) for m in (16.5, 11.5))
    deload = Change("B3", "lighter week", ("e",), T0, "cardio", "walking", "deload", full, light)
    last = replace(walking, dose=light, last_change=deload)
    _session(record, T0, key=key, rx=last)
    back = _session(record, T0 + timedelta(days=22), key=key, rx=replace(walking, dose=light))
    m = _moment(routine, record=record, session=back, at=back.at)
    assert not e.d14_back_from_a_break_resumes_lower(m)
    back.done[key].rx = replace(walking, dose=full)
    assert e.d14_back_from_a_break_resumes_lower(m)
    # outside a lighter week the dose shown is the dose: back at it is still flagged
    record.sessions[0].done[key].rx = replace(walking, dose=light)
    back.done[key].rx = replace(walking, dose=light)
    assert e.d14_back_from_a_break_resumes_lower(m)


def test_a_plateau_counts_from_the_resume_not_from_the_last_event_seen_while_paused() -> None:
    """D10, "pauses aside": the last step 45 days back, a pause from 42 to 20 days back whose last
    folded event came 41 days back (a paused patient sends next to nothing). 23 active days: no
    review is due yet; 29 days after the resume it is."""
    from planner.domain.routine import Advice

    routine, _ = _start()
    paused = replace(routine, status="paused")
    record = Record(T0, 1)
    for day in (*range(0, 6, 2), *range(25, 50, 2)):
        last = _session(record, T0 + timedelta(days=day))
    now = last.at
    sim = Simulation(Patient(random.Random(1), 8), 1, T0.date())
    sim._remember(_moment(paused, at=now - timedelta(days=41), previous=routine))
    sim._remember(_moment(routine, at=now - timedelta(days=20), previous=paused))
    sim.memory.last_up = {("strength", "squat"): now - timedelta(days=45)}
    m = _moment(routine, record=record, session=last, at=now, memory=sim.memory)
    assert not r.d10_a_plateau_is_reviewed(m)
    for day in (2, 4, 6, 9):
        later = _session(record, now + timedelta(days=day))
    m = _moment(routine, record=record, session=later, at=later.at, memory=sim.memory)
    assert r.d10_a_plateau_is_reviewed(m)
    reviewed = replace(routine, advice=(Advice("D10", "info", "review"),))
    assert not r.d10_a_plateau_is_reviewed(replace(m, routine=reviewed))


def test_f1_counts_a_session_by_when_its_workout_was_logged() -> None:
    """F1 at an instant exactly 7 days after a session started: its workout was logged 30 s
    later, inside the last 7 days, so the planner rightly counts 3 and gives no F1 advice."""
    from planner.domain.routine import Advice
    from tests.simulation import instant_checks as i

    routine, _ = _start()
    record = Record(T0, 1)
    for day in (7, 10, 12):
        s = _session(record, T0 + timedelta(days=day))
        record.events_at[s.event_id] = s.at + timedelta(seconds=30)
    patient = Patient(random.Random(1), 4)
    asked = T0 + timedelta(days=14)
    assert not i.f1_says_too_few_sessions(routine, asked, record, patient)
    later = asked + timedelta(seconds=30)
    assert i.f1_says_too_few_sessions(routine, later, record, patient)
    told = replace(routine, advice=(Advice("F1", "info", "only 2"),))
    assert not i.f1_says_too_few_sessions(told, later, record, patient)


def test_every_step_up_counts_for_one_session_d9_steps_on_the_settling_report_too() -> None:
    """The table's step-ups a session counted only the ups made when the workout was logged, so a
    tolerable-amber patient, whose steps come with the next-morning report (D9), showed 0.00."""
    rng = random.Random("tolerable_amber/5")
    patient = MODEL_NAMES["tolerable_amber"](rng, 12)
    sim = Simulation(patient, 5, first_day(rng))
    result = sim.run()
    assert sim.routine is not None
    ups = {(c.exercise, c.at) for c in sim.routine.changes if c.direction == "up"}
    assert any(c.rule == "D9" for c in sim.routine.changes if c.direction == "up")
    assert sum(result.step_ups_per_session) == len(ups)
    assert max(result.step_ups_per_session) <= 3  # D11, the session and its settling report


def test_a_plank_from_the_knees_at_its_shortest_hold_is_the_bottom_whatever_its_sets() -> None:
    """A hold climbs by its seconds and its form, never by sets (the ladder keeps the sets it
    started with): the D14 check flagged a plank from the knees at 2 x 20 s, which has no step
    down, as "back after a break at its old dose" (irregular#96508444, 52 weeks, seed 3)."""
    routine, _ = _start()
    plank = _rx(routine, "plank", "core", hold_s=20, sets=2)
    assert at_bottom(replace(plank, variation_level=0))
    assert not at_bottom(replace(plank, variation_level=1))
    assert not at_bottom(replace(plank, variation_level=0, dose=replace(plank.dose, hold_s=35)))
