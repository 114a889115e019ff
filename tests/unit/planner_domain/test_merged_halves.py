"""Rules 2026.12-1 where its two halves meet: the safety half's steps go through the
progression half's limits (D9 within D11), and its local-day count reaches P5 (D22)."""

from collections import Counter

from domain_builders import History, session

from planner.domain import derive_routine


def _amber_weeks(weeks=6, exercise="squat", **baseline):
    """Sessions three times a week; each has 4/10 during `exercise` that settles next morning."""
    h = History()
    h.baseline(walk_min=30, pain_at_rest=1, **baseline)
    for week in range(weeks):
        for d in (0, 2, 4):
            day = week * 7 + d
            s = session(h, day)
            sid = s.payload["session_id"]
            h.pain(day, 4, "during", hour=1.5, session_id=sid, exercise=exercise)
            h.pain(day, 1, "next_morning", hour=22, session_id=sid)
    return h, derive_routine(h.events, h.at(weeks * 7))


def test_d9_half_pace_step_counts_towards_d11_three_step_ups_a_session():
    h, r = _amber_weeks()
    session_of = {e.event_id: e.occurred_at for e in h.events if e.type == "workout.logged"}
    per_session: Counter = Counter()
    for c in r.changes:
        if c.direction != "up":
            continue
        earned_by = [session_of[e] for e in c.caused_by if e in session_of]
        assert earned_by, c
        per_session[max(earned_by)] += 1
    assert max(per_session.values()) <= 3, per_session
    holds = {
        derive_routine(h.events, e.occurred_at).prescription("squat", "strength").hold
        for e in h.events
    }
    assert any(hold is not None and hold.rule == "D11" for hold in holds), holds


def test_d9_half_pace_step_stays_within_the_session_budget():
    h, end = _amber_weeks(weeks=8, exercise="walking", session_budget_min=20)
    seen = [*(derive_routine(h.events, e.occurred_at) for e in h.events), end]
    for r in seen:
        assert r.session_estimate_min is not None and r.session_estimate_min <= 20, r.based_on
    holds = {r.prescription("walking", "cardio").hold for r in seen} - {None}
    assert any(hold.rule == "D11" for hold in holds), holds  # D9 asked, and the budget said no


def test_f2_following_the_plan_day_by_day_leaves_two_rest_days_in_any_seven():
    """F2 (2-3 full rest days a week): each new plan starts the day after the last session, so
    it must count the training days already behind it, not start its week afresh."""
    from datetime import date

    from domain_builders import full_session

    h = History()
    h.baseline(walk_min=30, pain_at_rest=1)
    trained: list[date] = []
    for day in range(35):
        r = derive_routine(h.events, h.at(day, 0.5))
        nxt = r.weekly_plan.get("next_session")
        today = h.at(day, 0.5).date()
        if nxt is None or date.fromisoformat(nxt["date"]) != today:
            continue
        listed = set(nxt["exercises"])
        h.workout(
            day,
            [
                e
                for e in full_session(r)
                if any(name.endswith(f":{e['exercise']}") for name in listed)
            ],
            duration_min=45,
        )
        trained.append(today)
    for end in trained:
        window = [d for d in trained if 0 <= (end - d).days < 7]
        assert len(window) <= 5, (end, window)


def test_d11_an_exercise_s2_parked_keeps_its_time_in_the_session_budget():
    """Found by the simulator (red_on_one_exercise): crunches parked by S2 came back after the
    walk had grown into their minutes, and the session went past its budget."""
    from domain_builders import follow_plan

    from planner.domain.engine import fold
    from planner.domain.rules.progression import planned

    h = History()
    h.baseline(walk_min=60, pain_at_rest=1)
    follow_plan(h, 8)
    for d in (0, 2, 4):
        s = session(h, 56 + d)
        h.pain(56 + d, 5, "during", hour=1.5, session_id=s.payload["session_id"])
    state = fold(h.events)
    assert ("core", "bicycle_crunch") in state.s2_parked
    # every exercise a training day holds or will hold again counts, the parked ones too
    expected = len(state.tracks) + len(state.parked) + len(state.s2_parked)
    assert len(planned(state)) == expected
