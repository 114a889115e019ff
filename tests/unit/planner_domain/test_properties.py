"""Properties over generated histories: the safety rules hold whatever the log looks like."""

import json
import os
import random
from datetime import timedelta

from domain_builders import History, entry
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planner.domain import derive_routine

_ALL = [
    ("stretch", "cat_cow"),
    ("stretch", "cobra"),
    ("strength", "squat"),
    ("strength", "calf_raise"),
    ("core", "plank"),
    ("core", "superman"),
    ("cardio", "walking"),
]
# Randomized on every run: a fixed seed once hid a real failure. Bounded for CI; to hunt, run
# with BACKTRACK_PROPERTY_EXAMPLES=5000 and several --hypothesis-seed=N.
_SETTINGS = settings(
    max_examples=int(os.environ.get("BACKTRACK_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def histories(draw):
    h = History()
    if draw(st.booleans()):
        h.baseline(
            walk_min=draw(st.sampled_from([10, 30, 60])), pain_at_rest=draw(st.integers(0, 4))
        )
    days = sorted(set(draw(st.lists(st.integers(0, 84), min_size=1, max_size=40))))
    for day in days:
        s = h.workout(
            day,
            [
                entry(ex, kind, [], completed=draw(st.booleans()) or True, rpe=4)
                for kind, ex in _ALL
            ],
            session_id=f"s{day}",
            duration_min=40,
        )
        for _ in range(draw(st.integers(0, 2))):
            timing = draw(st.sampled_from(["during", "after", "24h_after", "next_morning", "rest"]))
            hour = {"during": 1.5, "after": 2, "24h_after": 25, "next_morning": 22, "rest": 8}[
                timing
            ]
            flags = ["fever"] if draw(st.integers(0, 40)) == 0 else []
            h.add(
                "pain.reported",
                {
                    "score": draw(st.integers(0, 10)),
                    "timing": timing,
                    "location": "back",
                    "session_id": s.payload["session_id"],
                    "red_flags": flags,
                    **({"exercise": draw(st.sampled_from(_ALL))[1]} if draw(st.booleans()) else {}),
                },
                h.at(day, hour),
            )
    return h


def _step_then_amber_under_a_new_lighter_week():
    """The one failure seen before the seed was fixed: a walk step by s35 survived its amber pain.

    s35 is the first step of a five-week epoch; its pain report (30 minutes later; the fever is
    only where the shrinker lands, flags are drawn as integer 0) was the next event, started the
    B3 lighter week first, and R5 did not see the step under it.
    """
    h = History()
    h.baseline(walk_min=10, pain_at_rest=0)
    for day in (8, 35):
        h.workout(day, [entry(ex, kind, [], rpe=4) for kind, ex in _ALL], f"s{day}", 40)
    h.pain(35, 3, "during", hour=1.5, session_id="s35", red_flags=["fever"])
    return h


def _walk_steps_and_turns_into_a_run_in_one_session():
    """Found while hunting: s28 stepped the walk up and D2 turned it into walk + run at once.

    (The amber cat & cow on s14 keeps lunges, which would enter first, out of the way.)
    """
    h = History()
    h.baseline(walk_min=60, pain_at_rest=0)
    for day in (14, 28):
        h.workout(day, [entry(ex, kind, [], rpe=4) for kind, ex in _ALL], f"s{day}", 40)
        h.pain(
            day,
            3,
            "during",
            hour=1.5,
            session_id=f"s{day}",
            **({} if day == 28 else {"exercise": "cat_cow"}),
        )
    return h


def _ups(routine):
    return [c for c in routine.changes if c.direction == "up"]


@_SETTINGS
@given(histories())
def test_load_step_never_exceeds_10_percent_and_hold_step_never_exceeds_10s(h):
    r = derive_routine(h.events, h.at(200))
    for c in _ups(r):
        if c.before.load_kg and c.after.load_kg:
            assert c.after.load_kg <= c.before.load_kg * 1.1 + 1e-9
        if c.before.hold_s and c.after.hold_s and c.after.hold_s > c.before.hold_s:
            assert c.after.hold_s - c.before.hold_s <= 10


@_SETTINGS
@given(histories())
def test_no_exercise_steps_up_twice_within_seven_days(h):
    r = derive_routine(h.events, h.at(200))
    last = {}
    for c in _ups(r):
        key = (c.block, c.exercise)
        if key in last:
            assert (c.at.date() - last[key].date()).days >= 7  # D22: 7 local days
        last[key] = c.at


@_SETTINGS
@given(histories())
@example(_step_then_amber_under_a_new_lighter_week())
@example(_walk_steps_and_turns_into_a_run_in_one_session())
def test_nothing_progresses_on_amber_or_red_pain_or_after_24h_pain(h):
    r = derive_routine(h.events, h.at(200))
    by_id = {e.event_id: e for e in h.events}
    pains = [e for e in h.events if e.type == "pain.reported"]
    baseline = next((e for e in h.events if e.type == "baseline.assessed"), None)
    usual = baseline.payload.get("pain_at_rest") if baseline else None

    def settled(session_id):
        """D9: a next-morning report for the session back at the usual level (+1)."""
        return any(
            q.payload.get("session_id") == session_id
            and q.payload["timing"] == "next_morning"
            and (usual is None or q.payload["score"] <= usual + 1)
            for q in pains
        )

    for c in _ups(r):
        undone = any(
            d.exercise == c.exercise
            and d.block == c.block
            and d.at >= c.at
            and d.direction in ("revert", "down")
            for d in r.changes
        )
        for sid in c.caused_by:
            if by_id[sid].type != "workout.logged":
                continue  # D9 also names the next-morning report that completed the evidence
            session_id = by_id[sid].payload["session_id"]
            for p in pains:
                pl = p.payload
                if pl.get("session_id") != session_id or pl.get("exercise") not in (
                    None,
                    c.exercise,
                ):
                    continue
                if pl["timing"] in ("during", "after") and pl["score"] >= 3:
                    # D9: tolerable amber that settled by the next morning may progress
                    tolerable = c.rule == "D9" and pl["score"] <= 5 and settled(session_id)
                    assert undone or tolerable, (c, p)
    # after 24-hour pain, the following session makes no step
    sessions = [e for e in h.events if e.type == "workout.logged"]
    for p in pains:
        if p.payload["timing"] != "24h_after" or p.payload["score"] <= 0:
            continue
        sess = next(e for e in sessions if e.payload["session_id"] == p.payload["session_id"])
        later = [e for e in sessions if e.occurred_at > sess.occurred_at]
        if (
            later
            and later[0].occurred_at > p.occurred_at
            and all(
                e.occurred_at <= sess.occurred_at or e.occurred_at > p.occurred_at for e in sessions
            )
        ):
            score = p.payload["score"]
            if usual is not None and (score >= usual + 2 or score >= 6):  # D12
                assert not [c for c in _ups(r) if c.at == later[0].occurred_at]


@_SETTINGS
@given(histories())
def test_a_red_flag_always_pauses(h):
    r = derive_routine(h.events, h.at(200))
    if any(e.payload.get("red_flags") for e in h.events if e.type == "pain.reported"):
        assert r.status == "paused" and r.blocks == () and r.pause_reason


@_SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_same_routine_whatever_the_arrival_order(h, rnd: random.Random):
    shuffled = list(h.events)
    rnd.shuffle(shuffled)
    a = json.dumps(derive_routine(h.events, h.at(200)).to_dict(), sort_keys=True)
    b = json.dumps(derive_routine(shuffled, h.at(200)).to_dict(), sort_keys=True)
    assert a == b


_SCOPES = ["high_impact", "running", "core", "loaded_twisting", "red_flag_reviewed"]


@st.composite
def flagged_histories(draw):
    """Sessions, red flags of either tier, and clinicians' clearances of any scope."""
    h = History()
    h.baseline(walk_min=30, pain_at_rest=draw(st.integers(0, 3)))
    days = sorted(set(draw(st.lists(st.integers(0, 60), min_size=1, max_size=15))))
    for day in days:
        h.workout(day, [entry(ex, kind, [], rpe=4) for kind, ex in _ALL], f"s{day}", 40)
    for _ in range(draw(st.integers(1, 3))):
        flag = draw(st.sampled_from(["saddle_numbness", "bladder_bowel_change", "fever"]))
        h.pain(draw(st.integers(0, 60)), 3, "rest", hour=5, red_flags=[flag])
    for _ in range(draw(st.integers(0, 4))):
        scopes = draw(st.lists(st.sampled_from(_SCOPES), min_size=1, max_size=3, unique=True))
        h.add(
            "clearance.recorded",
            {"clinician": "dr", "scopes": scopes},
            h.at(draw(st.integers(0, 70)), 6),
        )
    return h


@_SETTINGS
@given(flagged_histories())
def test_a_red_flag_pause_ends_only_with_a_red_flag_review_after_it(h):
    """Finding 4: only `red_flag_reviewed`, recorded after the last red flag, resumes."""
    r = derive_routine(h.events, h.at(80))
    last_flag = max(e.occurred_at for e in h.events if e.payload.get("red_flags"))
    reviewed = any(
        e.type == "clearance.recorded"
        and "red_flag_reviewed" in e.payload["scopes"]
        and e.occurred_at >= last_flag
        for e in h.events
    )
    assert (r.status == "active") == reviewed


def _crunches_and_running_then_amber():
    """Eight weeks on the plan bring bicycle crunches and running; then a week of amber."""
    from domain_builders import follow_plan, session

    h = History()
    h.baseline(walk_min=60, pain_at_rest=1)
    follow_plan(h, 8)
    for day in (56, 58):
        s = session(h, day)
        h.pain(day, 4, "during", hour=1.5, session_id=s.payload["session_id"])
    return h


@_SETTINGS
@given(histories())
@example(_crunches_and_running_then_amber())
def test_no_loaded_twisting_or_running_while_the_last_week_held_pain_above_green(h):
    """S2 (finding 2): at every event, amber or red pain in the 7 days before it means no
    bicycle crunches, running, intervals or hill sprints in the routine."""
    guarded = {"bicycle_crunch", "steady_run", "intervals", "hill_sprints", "plyometrics"}
    for event in h.events:
        at = event.occurred_at
        painful = any(
            e.type == "pain.reported"
            and at - timedelta(days=7) <= e.occurred_at <= at
            and e.payload["score"] > 2
            for e in h.events
        )
        if painful:
            r = derive_routine(h.events, at)
            assert not {p.exercise for b in r.blocks for p in b.prescriptions} & guarded
