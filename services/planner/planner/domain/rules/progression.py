"""P1-P5: when an exercise has earned its next step, and the step itself (from the ladder)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from planner.domain import rules_table as t
from planner.domain.ladder import step_up
from planner.domain.load import acwr
from planner.domain.pain import rising
from planner.domain.routine import Dose, Hold
from planner.domain.rules.pain_rules import NOT_PROGRESSED
from planner.domain.state import Session, State, StepUp, Track, Why, local_days_between

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


def p5_pace_of_progress(state: State, track: Track, at: datetime) -> Hold | None:
    """P5 and the gates of the pain rules: why this exercise may not step up now (None: it may)."""
    if state.no_progress_next_session is not None:
        return Hold(
            "R2", "Eased back after pain that lasted 24 hours; nothing progresses this session."
        )
    if track.frozen_clean_needed > 0:
        return Hold(
            "R1",
            f"Waiting for {track.frozen_clean_needed} more pain-free session(s) after sharp pain.",
        )
    if state.deload_from is not None:
        return Hold("B3", "A lighter week: nothing progresses until it is over.")
    if rising(state, at):
        return Hold("B1", "Your pain rose this week compared with last week: hold the dose.")
    ratio = acwr(state.loads, at)[2]
    if ratio is not None and ratio > t.B4_TARGET_RATIO:
        return Hold(
            "B4", f"This week's training load is {ratio:.2f} times your usual: hold the dose."
        )
    if local_days_between(state, track.rx.last_change.at, at) < t.P5_MIN_DAYS_BETWEEN_STEPS:
        return Hold("P5", f"At most one step every {t.P5_MIN_DAYS_BETWEEN_STEPS} days.")
    if len(track.clean_sessions) < t.P5_SESSIONS_AT_DOSE:
        return Hold(
            "P5",
            f"{t.P5_SESSIONS_AT_DOSE} completed sessions at this dose without pain come first.",
        )
    return None


def progress_after_session(state: State, session: Session) -> None:
    """Count the session for each exercise it contained, then step up those that earned it."""
    at = session.event.occurred_at
    for key in sorted(session.entries):
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        if p5_counts_as_clean(session, track):
            track.clean_sessions.append(session.event.event_id)
            track.frozen_clean_needed = max(0, track.frozen_clean_needed - 1)
        else:  # "2 completed sessions at the current dose" means two in a row
            track.clean_sessions = []
        hold = p5_pace_of_progress(state, track, at)
        if hold is not None:
            track.hold = hold
            continue
        _step(state, track, session, at)
    state.no_progress_next_session = None  # R2: the following session has now happened


def _step(state: State, track: Track, session: Session, at: datetime) -> None:
    step = step_up(track.ex, track.rx.dose, track.rx.variation_level)
    if step is None:
        track.hold = Hold(track.rx.last_change.rule, "At the top of this exercise's ladder.")
        return
    causes = tuple(track.clean_sessions[-t.P5_SESSIONS_AT_DOSE :])
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
