"""DOMAIN.md's decisions where the seed contradicts itself: twisting (D1), running and high impact
(D2), the flare-up definition (D6); plus the later exercises P2 and P4 bring in.

New exercises enter one at a time, at most one per P5 interval, and never during a hold.
"""

from collections.abc import Callable
from datetime import datetime

from planner.domain import rules_table as t
from planner.domain.evidence import green_week, quiet_weeks
from planner.domain.exercises import EXERCISES
from planner.domain.history import LoggedEvent
from planner.domain.ladder import starting_interval
from planner.domain.load import acwr
from planner.domain.pain import rising
from planner.domain.routine import Dose
from planner.domain.rules.starting import s2_low_impact_first
from planner.domain.state import State, Track, Why, local_days_between


def _quiet(state: State, at: datetime, days: int, above: int) -> bool:
    """Finding 3: the last `days` days are weeks of logged sessions without pain above `above`."""
    return quiet_weeks(state, at, days // 7, above)


def _early_phase_over(state: State, at: datetime) -> bool:
    # Finding 3: a clearance lifts the clinician-only gate it names, never the early phase.
    return state.days_since_start(at) >= t.D1_EARLY_PHASE_DAYS


def d1_twisting_gate(state: State, at: datetime) -> bool:
    """D1 and S2: after the early phase, two weeks of sessions without amber or red pain."""
    return (
        _early_phase_over(state, at)
        and _quiet(state, at, t.D1_QUIET_DAYS, t.ZONE_GREEN_MAX)
        and green_week(state, at)
    )


def d2_running_gate(state: State, at: datetime) -> bool:
    """D2 and S2: after the early phase, four weeks of sessions without red pain, and no amber
    or red pain in the last week."""
    return (
        _early_phase_over(state, at)
        and _quiet(state, at, t.D2_NO_RED_PAIN_DAYS, t.ZONE_AMBER_MAX)
        and green_week(state, at)
    )


def d1_twisting(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """D1: loaded twisting (bicycle crunches) enters after the early phase with no amber or red pain in 2 weeks."""
    key = ("core", "bicycle_crunch")
    if key in state.tracks or key in state.held_out or state.core_flare is not None:
        return False
    if not d1_twisting_gate(state, at):
        return False
    state.add(
        EXERCISES["bicycle_crunch"],
        block="core",
        kind="core",
        dose=Dose(
            sets=t.P3_SETS_START, reps=t.P3_REPS_MIN, sessions_per_week=t.F1_MIN_SESSIONS_PER_WEEK
        ),
        level=0,
        why=Why(
            "D1",
            "Two calm weeks after the first month: slow bicycle crunches join your core work.",
            causes,
            at,
        ),
    )
    return True


def p2_add_lunges(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """P2 "start light": lunges join once body awareness has grown (the early phase, 2 calm weeks)."""
    key = ("strength", "lunge")
    if key in state.tracks or key in state.held_out:
        return False
    if not _early_phase_over(state, at) or not _quiet(state, at, t.D1_QUIET_DAYS, t.ZONE_GREEN_MAX):
        return False
    state.add(
        EXERCISES["lunge"],
        block="strength",
        kind="strength",
        dose=Dose(
            sets=t.P2_SETS_START, reps=t.P2_REPS_MIN, sessions_per_week=t.F1_MIN_SESSIONS_PER_WEEK
        ),
        level=0,
        why=Why(
            "P2",
            "Your strength work is going well: supported split squats join, with body weight only.",
            causes,
            at,
        ),
    )
    return True


def _settled(track: Track) -> bool:
    """P5, one dimension at a time: a step-up must stand one clean session before the exercise
    changes form (minutes of a walk become a run, a run becomes intervals). Until then a pain
    report on the session that earned it can still undo that step alone (R5, B1).
    """
    return track.step is None or bool(track.clean_sessions)


def d2_running(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """D2: easy running after the early phase with no red pain in 4 weeks, once walks are long.

    The run replaces minutes of the walk, so weekly minutes do not jump (P4).
    """
    walk = state.tracks.get(("cardio", "walking"))
    if (
        ("cardio", "steady_run") in state.tracks
        or ("cardio", "steady_run") in state.held_out
        or walk is None
    ):
        return False
    if (walk.rx.dose.duration_min or 0) < t.P4_STEADY_BASE_MIN or not _settled(walk):
        return False
    if not d2_running_gate(state, at):
        return False
    run = t.P4_BOUT_MIN
    walk_dose = walk.rx.dose
    state.change(
        walk,
        why=Why("D2", f"{run:g} minutes of your walk become easy running.", causes, at),
        dose=Dose(
            duration_min=(walk_dose.duration_min or 0) - run,
            sessions_per_week=walk_dose.sessions_per_week,
        ),
        level=walk.rx.variation_level,
        direction="set",
    )
    state.add(
        EXERCISES["steady_run"],
        block="cardio",
        kind="cardio",
        dose=Dose(duration_min=run, sessions_per_week=walk_dose.sessions_per_week),
        level=0,
        why=Why(
            "D2",
            f"A month without sharp pain and long walks: start easy running, {run:g} minutes.",
            causes,
            at,
        ),
    )
    return True


def p4_intervals(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """P4: low-intensity intervals (1 min hard / 3 easy) after a steady base; they take one run a week."""
    run = state.tracks.get(("cardio", "steady_run"))
    if (
        run is None
        or ("cardio", "intervals") in state.tracks
        or ("cardio", "intervals") in state.s2_parked
    ):
        return False
    if (
        (run.rx.dose.duration_min or 0) < t.P4_STEADY_BASE_MIN
        or (run.rx.dose.sessions_per_week or 0) < 2
        or not _settled(run)
    ):
        return False
    if not d2_running_gate(state, at):
        return False
    d = run.rx.dose
    state.change(
        run,
        why=Why("P4", "One of your weekly runs becomes an interval session.", causes, at),
        dose=Dose(duration_min=d.duration_min, sessions_per_week=(d.sessions_per_week or 1) - 1),
        level=run.rx.variation_level,
        direction="set",
    )
    state.add(
        EXERCISES["intervals"],
        block="cardio",
        kind="cardio",
        dose=Dose(interval=starting_interval(), sessions_per_week=1),
        level=0,
        why=Why(
            "P4",
            "You have a steady base: once a week, 1 minute faster then 3 minutes easy, "
            "at low intensity.",
            causes,
            at,
        ),
    )
    return True


def s2_high_impact(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """S2 and D2: hill sprints only after 8 pain-free weeks and a clinician's clearance, after intervals."""
    if (
        ("cardio", "hill_sprints") in state.tracks
        or ("cardio", "hill_sprints") in state.s2_parked
        or ("cardio", "intervals") not in state.tracks
    ):
        return False
    if not s2_low_impact_first(state, "hill_sprints", at):
        return False
    intervals = state.tracks[("cardio", "intervals")]
    state.hold_out(
        ("cardio", "intervals"),
        why=Why("S2", "Your interval session becomes hill sprints.", causes, at),
    )
    state.held_out.pop(("cardio", "intervals"), None)
    state.parked[("cardio", "intervals")] = intervals
    state.add(
        EXERCISES["hill_sprints"],
        block="cardio",
        kind="cardio",
        dose=Dose(interval=starting_interval(), sessions_per_week=1),
        level=0,
        why=Why(
            "S2",
            "Eight pain-free weeks and your clinician's clearance: short hill sprints once a week.",
            causes,
            at,
        ),
    )
    return True


INTRODUCTIONS: tuple[Callable[[State, datetime, tuple[str, ...]], bool], ...] = (
    p2_add_lunges,
    d1_twisting,
    d2_running,
    p4_intervals,
    s2_high_impact,
)


def introduce_next(state: State, event: LoggedEvent) -> None:
    """At most one new exercise per P5 interval, and only when nothing holds progression."""
    at = event.occurred_at
    if (
        state.paused is not None
        or state.deload_from is not None
        or state.no_progress_next_session is not None
    ):
        return
    if (
        state.last_introduction_at is not None
        and local_days_between(state, state.last_introduction_at, at)
        < t.P5_MIN_DAYS_BETWEEN_STEPS
    ):
        return
    if rising(state, at):
        return
    ratio = acwr(state.loads, at)[2]
    if ratio is not None and ratio > t.B4_TARGET_RATIO:
        return
    for introduce in INTRODUCTIONS:
        if introduce(state, at, (event.event_id,)):
            state.last_introduction_at = at
            return


def d6_is_flare_up(state: State, report: LoggedEvent) -> bool:
    """D6: a declared flare, or 24-hour pain at or above the usual level + 2 points."""
    if report.payload.get("flare_up_cause"):
        return True
    hours = report.payload.get("lasting_hours")
    later = report.payload.get("timing") == "24h_after" or (
        hours is not None and float(hours) >= t.R2_LASTING_HOURS
    )
    return later and int(report.payload["score"]) >= state.usual_pain + t.D6_FLARE_RISE_POINTS
