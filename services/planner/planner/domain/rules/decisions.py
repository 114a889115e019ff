"""DOMAIN.md's decisions where the seed contradicts itself: twisting (D1), running and high impact
(D2), the flare-up definition (D6); plus the later exercises P2 and P4 bring in.

New exercises enter one at a time, at most one per P5 interval, and never during a hold.
"""

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from planner.domain import rules_table as t
from planner.domain.evidence import green_week, quiet_weeks
from planner.domain.exercises import EXERCISES
from planner.domain.history import LoggedEvent
from planner.domain.ladder import ex_name, starting_interval, starting_sprints
from planner.domain.routine import Dose
from planner.domain.rules.progression import planned, routine_gate
from planner.domain.rules.starting import s2_low_impact_first
from planner.domain.session_time import budget_min, estimate_min
from planner.domain.state import Key, State, Track, Why, local_days_between


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


def d1_twisting_due(state: State, at: datetime) -> bool:
    """D1: loaded twisting (bicycle crunches) enters after the early phase with no amber or red pain in 2 weeks."""
    key = ("core", "bicycle_crunch")
    if key in state.tracks or key in state.held_out or state.core_flare is not None:
        return False
    return d1_twisting_gate(state, at)


def d1_twisting(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    if not d1_twisting_due(state, at):
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


def p2_lunges_due(state: State, at: datetime) -> bool:
    """P2 "start light": lunges join once body awareness has grown (the early phase, 2 calm weeks)."""
    key = ("strength", "lunge")
    if key in state.tracks or key in state.held_out:
        return False
    return _early_phase_over(state, at) and _quiet(state, at, t.D1_QUIET_DAYS, t.ZONE_GREEN_MAX)


def p2_add_lunges(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    if not p2_lunges_due(state, at):
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


def d2_running_due(state: State, at: datetime) -> bool:
    """D2: easy running after the early phase with no red pain in 4 weeks, once walks are long."""
    walk = state.tracks.get(("cardio", "walking"))
    if (
        ("cardio", "steady_run") in state.tracks
        or ("cardio", "steady_run") in state.held_out
        or walk is None
    ):
        return False
    if (walk.rx.dose.duration_min or 0) < t.P4_STEADY_BASE_MIN or not _settled(walk):
        return False
    return d2_running_gate(state, at)


def d2_running(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """D2: the run replaces minutes of the walk, so weekly minutes do not jump (P4)."""
    if not d2_running_due(state, at):
        return False
    walk = state.tracks[("cardio", "walking")]
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


def p4_intervals_due(state: State, at: datetime) -> bool:
    """P4: low-intensity intervals (1 min hard / 3 easy) after a steady base; they take one run a week."""
    run = state.tracks.get(("cardio", "steady_run"))
    if run is None or _offered(state, ("cardio", "intervals")) or _offered(state, _SPRINTS):
        return False  # one interval form at a time, and a replaced one is not re-added
    if (
        (run.rx.dose.duration_min or 0) < t.P4_STEADY_BASE_MIN
        or (run.rx.dose.sessions_per_week or 0) < 2
        or not _settled(run)
    ):
        return False
    return d2_running_gate(state, at)


def p4_intervals(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    if not p4_intervals_due(state, at):
        return False
    run = state.tracks[("cardio", "steady_run")]
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


_INTERVALS = ("cardio", "intervals")
_SPRINTS = ("cardio", "hill_sprints")


def _offered(state: State, key: Key) -> bool:
    """In the routine now, or held out of it (replaced, contraindicated, parked by R3 or S2):
    not new."""
    return (
        key in state.tracks
        or key in state.held_out
        or key in state.parked
        or key in state.s2_parked
    )


def s2_high_impact_due(state: State, at: datetime) -> bool:
    """S2 and D2: hill sprints only after 8 pain-free weeks and a clinician's clearance, after intervals."""
    if _offered(state, _SPRINTS) or _INTERVALS not in state.tracks:
        return False
    return s2_low_impact_first(state, "hill_sprints", at)


def s2_high_impact(state: State, at: datetime, causes: tuple[str, ...]) -> bool:
    """One interval form at a time: the sprints replace the interval session for good (the
    intervals stay held out, so nothing brings them back beside the sprints)."""
    if not s2_high_impact_due(state, at):
        return False
    state.hold_out(
        _INTERVALS,
        why=Why(
            "S2",
            "Your interval session became hill sprints: one interval form at a time.",
            causes,
            at,
        ),
    )
    state.add(
        EXERCISES["hill_sprints"],
        block="cardio",
        kind="cardio",
        dose=Dose(interval=starting_sprints(), sessions_per_week=1),
        level=0,
        why=Why(
            "S2",
            f"Eight pain-free weeks and your clinician's clearance: once a week, "
            f"{t.D18_SPRINT_ROUNDS_START} hill sprints of {t.D18_SPRINT_HARD_MAX_S} s, walking back down.",
            causes,
            at,
        ),
    )
    return True


Due = Callable[[State, datetime], bool]
Introduce = Callable[[State, datetime, tuple[str, ...]], bool]

# Each new exercise: whether it is due (only reads the state), and bringing it in (which asks
# again, and changes the state only when it is due).
INTRODUCTIONS: tuple[tuple[Due, Introduce], ...] = (
    (p2_lunges_due, p2_add_lunges),
    (d1_twisting_due, d1_twisting),
    (d2_running_due, d2_running),
    (p4_intervals_due, p4_intervals),
    (s2_high_impact_due, s2_high_impact),
)


def introduce_next(state: State, event: LoggedEvent) -> None:
    """At most one new exercise per P5 interval, and only when nothing holds progression.

    D11: a new exercise that would take the session past its time budget replaces the oldest
    exercise of its block instead of adding to it (and does not come when even that is too long).
    """
    at = event.occurred_at
    if routine_gate(state, at) is not None:
        return
    if (
        state.last_introduction_at is not None
        and local_days_between(state, state.last_introduction_at, at) < t.P5_MIN_DAYS_BETWEEN_STEPS
    ):
        return
    causes = (event.event_id,)
    for due, introduce in INTRODUCTIONS:
        if not due(state, at):
            continue
        trial = _trial(state)  # the trial is the state's copy: the introduction is due there too
        introduce(trial, at, causes)
        budget = budget_min(state.baseline)
        if estimate_min(planned(trial)) <= budget:
            introduce(state, at, causes)
        else:
            new = [k for k in trial.tracks if k not in state.tracks]
            oldest = _oldest_in_block(state, new[0][0]) if new else None
            if oldest is None:
                return
            trial.hold_out(oldest, why=Why("D11", "", causes, at))
            if estimate_min(planned(trial)) > budget:
                return
            introduce(state, at, causes)
            state.hold_out(
                oldest,
                why=Why(
                    "D11",
                    f"{ex_name(EXERCISES[new[0][1]]).capitalize()} takes its place, to keep your "
                    f"session within {budget} minutes.",
                    causes,
                    at,
                ),
            )
        state.last_introduction_at = at
        return


def _trial(state: State) -> State:
    """A copy of what an introduction changes (the tracks, what is held out, the changes), to try
    it first; the rest of the state is only read and stays shared."""
    return replace(
        state,
        tracks={k: _track_copy(tr) for k, tr in state.tracks.items()},
        held_out=dict(state.held_out),
        changes=list(state.changes),
        parked=dict(state.parked),
        s2_parked=dict(state.s2_parked),
    )


def _track_copy(track: Track) -> Track:
    copied = copy.copy(track)
    copied.clean_sessions = list(track.clean_sessions)
    return copied


def _oldest_in_block(state: State, block: str) -> Key | None:
    """The exercise of a block that has been in the routine longest (catalogue order on a tie)."""
    added: dict[Key, datetime] = {}
    for c in state.changes:
        if c.direction == "add" and c.block == block and c.exercise is not None:
            added[(c.block, c.exercise)] = c.at
    present = [k for k in state.tracks if k[0] == block and k in added]
    if not present:
        return None
    catalogue = list(EXERCISES)
    return min(present, key=lambda k: (added[k], catalogue.index(k[1])))


def d6_is_flare_up(state: State, report: LoggedEvent) -> bool:
    """D6: a declared flare, or 24-hour pain at or above the usual level + 2 points."""
    if report.payload.get("flare_up_cause"):
        return True
    hours = report.payload.get("lasting_hours")
    later = report.payload.get("timing") == "24h_after" or (
        hours is not None and float(hours) >= t.R2_LASTING_HOURS
    )
    return later and int(report.payload["score"]) >= state.usual_pain + t.D6_FLARE_RISE_POINTS
