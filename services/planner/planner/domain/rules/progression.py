"""P1-P5: when an exercise has earned its next step, and the step itself (from the ladder)."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from typing import Any, NamedTuple

from planner.domain import rules_table as t
from planner.domain.exercises import BLOCKS, EXERCISES
from planner.domain.holds import holding
from planner.domain.ladder import Top, next_step
from planner.domain.load import acwr
from planner.domain.pain import rising
from planner.domain.routine import Dose, Hold
from planner.domain.rules.pain_rules import NOT_PROGRESSED
from planner.domain.rules.plan_advice import HARD_BLOCKS, d16_day_after_a_hard_session
from planner.domain.session_time import (
    TRAINING_BLOCKS,
    budget_min,
    dose_minutes,
    exercise_seconds,
    takes_turns,
)
from planner.domain.state import Key, Session, State, StepUp, Track, Why, local_days_between

_CATALOGUE = {slug: i for i, slug in enumerate(EXERCISES)}

_EPS = 1e-9


def meets_dose(entry: Mapping[str, Any], dose: Dose) -> bool:
    """Did the logged sets reach the prescribed dose? Values a log leaves out are taken as done."""
    sets = list(entry.get("sets") or ())
    if not sets:
        return True
    if dose.reps is not None and dose.sets is not None and len(sets) < dose.sets:
        return False  # P2: "every set" must be there
    for s in sets:
        for name, wanted in (
            ("reps", dose.reps),
            ("hold_s", dose.hold_s),
            ("load_kg", dose.load_kg),
        ):
            if (
                wanted is not None
                and s.get(name) is not None
                and float(s[name]) + _EPS < float(wanted)
            ):
                return False
    minutes = [float(s["duration_min"]) for s in sets if s.get("duration_min") is not None]
    wanted_min = dose.duration_min
    if dose.interval is not None:
        wanted_min = (dose.interval.hard_min + dose.interval.easy_min) * dose.interval.rounds
    return not (minutes and wanted_min is not None and sum(minutes) + _EPS < wanted_min)


def p5_counts_as_clean(session: Session, track: Track) -> bool:
    """P5: a completed session at the current dose with no amber or red pain."""
    entry = session.entries.get(track.key)
    if entry is None or track.key in session.disqualified:
        return False
    if not entry.get("completed") or entry.get("stopped_for_pain"):
        return False
    return meets_dose(entry, track.rx.dose)


def routine_gate(state: State, at: datetime) -> Hold | None:
    """What holds every progression of the routine now, step-ups and new exercises alike."""
    if state.paused is not None:
        return holding("paused")
    if state.no_progress_next_session is not None:
        return holding("r2_eased")
    if state.deload_from is not None:
        return holding("b3_lighter_week")
    if rising(state, at):
        return holding("b1_rising")
    ratio = acwr(state.loads, at)[2]
    if ratio is not None and ratio > t.B4_TARGET_RATIO:
        return holding("b4_load", ratio=f"{ratio:.2f}")
    return None


def p5_pace_of_progress(state: State, track: Track, at: datetime) -> Hold | None:
    """P5 and the gates of the pain rules: why this exercise may not step up now (None: it may)."""
    if state.no_progress_next_session is None and track.frozen_clean_needed > 0:
        return holding("r1_frozen", n=track.frozen_clean_needed)
    hold = routine_gate(state, at)
    if hold is not None:
        return hold
    # D22: 7 local calendar days, not 168 hours
    if local_days_between(state, track.rx.last_change.at, at) < t.P5_MIN_DAYS_BETWEEN_STEPS:
        return holding("p5_pace")
    if len(track.clean_sessions) < t.P5_SESSIONS_AT_DOSE:
        return holding("p5_sessions")
    return None


def progress_after_session(state: State, session: Session) -> None:
    """Count the session for each exercise it contained, then step up those that earned it."""
    at = session.event.occurred_at
    ready: list[Track] = []
    day_after = d16_day_after_a_hard_session(state, session)
    for key in sorted(session.entries):
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        clean = p5_counts_as_clean(session, track)
        if clean and day_after and key[0] in HARD_BLOCKS:  # D16: neither counts nor breaks a run
            track.hold = holding("d16_day_after")
            continue
        if clean:
            track.clean_sessions.append(session.event.event_id)
            track.frozen_clean_needed = max(0, track.frozen_clean_needed - 1)
        else:  # "2 completed sessions at the current dose" means two in a row
            track.clean_sessions = []
        hold = p5_pace_of_progress(state, track, at)
        if hold is not None:
            track.hold = hold
            continue
        ready.append(track)
    d11_step_the_longest_waiting(state, session, ready, at)
    state.no_progress_next_session = None  # R2: the following session has now happened


def waiting_order(track: Track) -> tuple[datetime, int, int]:
    return (track.rx.last_change.at, BLOCKS.index(track.key[0]), _CATALOGUE[track.rx.exercise])


def d11_step_the_longest_waiting(
    state: State, session: Session, ready: list[Track], at: datetime
) -> None:
    """D11: at most 3 step-ups a session, those waiting longest first, within the time budget."""
    stepped = 0
    day: PlannedDay | None = None
    for track in sorted(ready, key=waiting_order):
        if stepped >= t.D11_MAX_STEPS_PER_SESSION:
            track.hold = holding("d11_next_in_line")
            continue
        day = PlannedDay.still(day, state)
        if _step(state, track, session, at, day):
            stepped += 1


def planned(state: State) -> list[tuple[str, Dose]]:
    """Every dose a training day holds, at the dose it stands at, and what is parked to return
    (core held by R3, loaded twisting and running held by S2).

    A step that can still be undone (R4, R5, B1) counts at the longer of its two doses: a new
    form that started shorter (a hold back at 30 s) must not leave its time to another exercise.
    """
    doses = []
    for key, tr in state.tracks.items():
        dose = state.standing(tr)[0]
        if tr.step is not None:
            dose = max(dose, tr.step.before.dose, key=lambda d: exercise_seconds(key[0], d))
        doses.append((key[0], dose))
    waiting = (*state.parked.items(), *state.s2_parked.items())  # R3 and S2 bring them back
    return doses + [(key[0], tr.rx.dose) for key, tr in waiting]


def session_admits(state: State, track: Track, dose: Dose) -> Hold | None:
    """D11 and D20: does the session budget, and the week's cardio, take this dose? (None: yes.)

    Every step-up asks, whichever rule takes it (P1-P4 here; D9's half-pace step too).
    """
    return PlannedDay(state).admits(track, dose)


class _Planned(NamedTuple):
    """One dose of `planned`, with what the session estimate and the week's cardio read of it."""

    key: Key | None  # the track's; None when parked (asking of a track never leaves it out)
    training: bool  # a block of the training day (estimate_min counts it)
    turns: bool  # cardio on fewer days than a training week (estimate_min: the longest counts)
    seconds: float
    cardio_min: float | None  # weekly cardio minutes (weekly_cardio_min), None if not cardio


class PlannedDay:
    """`planned(state)` taken once, to ask `session_admits` of many tracks while the state
    stands still (the routine asks it of every prescription).

    Each dose's seconds and weekly cardio minutes are worked out once; the answers add them up
    as estimate_min and weekly_cardio_min do, in the same order, so they are those functions'
    to the last bit. When every dose is whole seconds (the usual case) the session's seconds are
    kept summed: whole numbers below 2**53 add up exactly in any order, so taking one dose out
    and another in gives the very sum the ordered loop would. Made again after anything changes
    a dose.
    """

    def __init__(self, state: State) -> None:
        self._changes = len(state.changes)
        self.budget = budget_min(state.baseline)
        pairs = planned(state)
        keys: list[Key | None] = [key for key in state.tracks]
        keys += [None] * (len(pairs) - len(keys))
        self._doses = [
            _planned(key, block, dose) for key, (block, dose) in zip(keys, pairs, strict=True)
        ]
        # weekly_cardio_min(planned(state))
        self.weekly_cardio_min = sum(d.cardio_min for d in self._doses if d.cardio_min is not None)
        every = [d for d in self._doses if d.training and not d.turns]
        self._whole = all(float(d.seconds).is_integer() for d in every)
        self._every_seconds = sum((float(d.seconds) for d in every), 0.0)  # exact when whole
        self._turns = [d for d in self._doses if d.training and d.turns]
        self._tracks = {d.key: d for d in self._doses if d.key is not None}

    @property
    def signature(self) -> tuple[int, list[_Planned]]:
        """All its answers depend on: two days with equal signatures answer alike."""
        return (self.budget, self._doses)

    @classmethod
    def still(cls, day: "PlannedDay | None", state: State) -> "PlannedDay":
        """`day` if the state recorded no change since it was taken, else the state's anew: a
        rule that steps doses up one after another changes them through `State.change`."""
        if day is not None and day._changes == len(state.changes):
            return day
        return cls(state)

    def admits(self, track: Track, dose: Dose) -> Hold | None:
        """session_admits(state, track, dose) of the state this was taken of."""
        block = track.key[0]
        before = _planned(track.key, block, track.rx.dose)
        after = _planned(track.key, block, dose)
        # each condition's cheap half first: neither half changes anything
        if _minutes([after]) > _minutes([before]) and self._minutes_with(after) > self.budget:
            return holding("d11_budget", budget=self.budget)
        if (after.cardio_min or 0) > (before.cardio_min or 0) and sum(
            d.cardio_min for d in (*self._rest(after.key), after) if d.cardio_min is not None
        ) > t.D20_WEEKLY_CARDIO_CAP_MIN:
            return holding("d20_weekly_cardio")
        return None

    def _rest(self, key: Key | None) -> list[_Planned]:
        """planned(state) but the track `key`'s dose, in its order."""
        return [d for d in self._doses if d.key != key]

    def minutes_with(self, track: Track, dose: Dose) -> float:
        """estimate_min of the planned session with `dose` in place of `track`'s."""
        return self._minutes_with(_planned(track.key, track.key[0], dose))

    def _minutes_with(self, after: _Planned) -> float:
        if not (self._whole and float(after.seconds).is_integer()):
            return _minutes([*self._rest(after.key), after])
        every = self._every_seconds
        left = self._tracks.get(after.key)
        if left is not None and left.training and not left.turns:
            every -= left.seconds
        turns = [0.0, *(d.seconds for d in self._turns if d.key != after.key)]
        if after.training and after.turns:
            turns.append(after.seconds)
        elif after.training:
            every += after.seconds
        return (every + max(turns)) / 60


def _planned(key: Key | None, block: str, dose: Dose) -> _Planned:
    return _Planned(
        key,
        block in TRAINING_BLOCKS,
        takes_turns(block, dose),
        exercise_seconds(block, dose),
        dose_minutes(dose) * (dose.sessions_per_week or 0) if block == "cardio" else None,
    )


def _minutes(doses: list[_Planned]) -> float:
    """estimate_min of these doses."""
    every, turns = 0.0, [0.0]
    for d in doses:
        if not d.training:
            continue
        if d.turns:
            turns.append(d.seconds)
        else:
            every += d.seconds
    return (every + max(turns)) / 60


_WALK = ("cardio", "walking")


def d20_run_into_the_walk(state: State, track: Track, dose: Dose, why: Why) -> Hold | None:
    """D20: at the week's cardio cap, a run still grows, into walking time: the week stays as it
    is and the walk gives the minutes (as D2 made the run out of the walk)."""
    walk = state.tracks.get(_WALK)
    gained = dose_minutes(dose) - dose_minutes(track.rx.dose)
    if walk is None or walk.key in state.deload_base or gained <= 0:
        return holding("d20_weekly_cardio")
    walks = walk.rx.dose.sessions_per_week or 1
    weekly = Fraction(str(gained)) * (track.rx.dose.sessions_per_week or 0) / walks
    unit = Fraction(str(t.P4_MINUTE_STEP))
    given = float(-(-weekly // unit) * unit)  # rounded up: the week never grows
    shorter = (walk.rx.dose.duration_min or 0.0) - given
    if shorter < t.P4_BOUT_MIN:
        return holding("d20_weekly_cardio")
    state.change(
        walk,
        why=replace(
            why,
            reason=f"Your run grows into your walking time: {shorter:g} minutes of walking, and "
            f"the week stays within {t.D20_WEEKLY_CARDIO_CAP_MIN} minutes of cardio.",
        ),
        dose=replace(walk.rx.dose, duration_min=shorter),
        level=walk.rx.variation_level,
        direction="set",
    )
    return session_admits(state, track, dose)


def _step(state: State, track: Track, session: Session, at: datetime, day: PlannedDay) -> bool:
    step = next_step(track.ex, track.rx.dose, track.rx.variation_level)
    if isinstance(step, Top):
        track.hold = Hold(step.rule, step.reason)
        return False
    causes = tuple(track.clean_sessions[-t.P5_SESSIONS_AT_DOSE :])
    hold = day.admits(track, step.dose)
    if hold is not None and hold.rule == "D20" and track.ex.running:
        hold = d20_run_into_the_walk(state, track, step.dose, Why("D20", "", causes, at))
    if hold is not None:
        track.hold = hold
        return False
    sessions = tuple(s for s in state.session_order if state.sessions[s].event.event_id in causes)
    before = track.rx
    state.change(
        track,
        why=Why(step.rule, step.reason, causes, at),
        dose=step.dose,
        level=step.level,
        direction="up",
    )
    track.step = StepUp(before, sessions, at)
    track.hold = None
    state.steps_in_epoch += 1
    return True
