"""D9 tolerable amber, after the pain-monitoring model: pain during of 3-5 that is back to the
usual level by the next morning (a report at or below usual + 1), with a 7-day mean that is not
rising, allows progression at half pace: one step per 14 local days.

Amber that does not settle, or that no next-morning report follows, holds the dose (R5). The
step is taken when the settling report arrives, since only then is the evidence complete.

The step is a step-up like any other: the routine's progression gate holds it, and D11's
limits apply (the session budget, and at most 3 step-ups for the session that earned it).
"""

from datetime import datetime

from planner.domain import rules_table as t
from planner.domain.holds import holding
from planner.domain.ladder import Top, ex_name, next_step
from planner.domain.pain import rising
from planner.domain.routine import Hold
from planner.domain.rules.pain_rules import NOT_PROGRESSED
from planner.domain.rules.progression import (
    PlannedDay,
    meets_dose,
    routine_gate,
    waiting_order,
)
from planner.domain.state import Key, Session, State, StepUp, Track, Why, local_days_between


def settled(state: State, score: int) -> bool:
    """A next-morning report back at the usual level (D9: at most usual + 1)."""
    return score <= state.usual_pain + t.D9_SETTLED_POINTS


def _tolerable(session: Session, key: Key, track: Track) -> bool:
    """A completed session at the current dose with no pain beyond amber that settled."""
    entry = session.entries.get(key)
    done = session.doses.get(key)
    if entry is None or done is None or done.dose != track.rx.dose:
        return False
    if not entry.get("completed") or entry.get("stopped_for_pain"):
        return False
    if key in session.red or session.eased or not meets_dose(entry, track.rx.dose):
        return False
    return key not in session.disqualified or (key in session.amber and session.settled)


def _after_the_last_break(state: State, session: Session) -> bool:
    """D14: a session before the last break or pause proves nothing after it."""
    return state.evidence_since is None or session.event.occurred_at >= state.evidence_since


def d9_tolerable_amber(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    if not session.amber or not session.settled or rising(state, at):
        return
    if routine_gate(state, at) is not None:
        return
    stepped = _steps_earned_by(state, session)
    day: PlannedDay | None = None
    tracks = [state.tracks[k] for k in session.amber if k in state.tracks]
    for track in sorted(tracks, key=waiting_order):  # D11: those waiting longest first
        key = track.key
        if key[0] in NOT_PROGRESSED or track.frozen_clean_needed > 0:
            continue
        since = local_days_between(state, track.rx.last_change.at, at)
        if since < t.D9_MIN_DAYS_BETWEEN_STEPS:
            track.hold = Hold(
                "D9",
                f"Pain stayed tolerable: at most one step every {t.D9_MIN_DAYS_BETWEEN_STEPS} "
                "days while it does.",
            )
            continue
        behind = state.last_sessions_with(key, session.event.occurred_at, t.P5_SESSIONS_AT_DOSE)
        if len(behind) < t.P5_SESSIONS_AT_DOSE or not all(
            _tolerable(s, key, track) and _after_the_last_break(state, s) for s in behind
        ):
            continue
        step = next_step(track.ex, track.rx.dose, track.rx.variation_level)
        if isinstance(step, Top):
            track.hold = Hold(step.rule, step.reason)
            continue
        if stepped >= t.D11_MAX_STEPS_PER_SESSION:
            track.hold = holding("d11_next_in_line")
            continue
        day = PlannedDay.still(day, state)
        hold = day.admits(track, step.dose)
        if hold is not None:
            track.hold = hold
            continue
        before = track.rx
        state.change(
            track,
            why=Why(
                "D9",
                f"Pain during {ex_name(track.ex)} stayed tolerable and settled by the next "
                f"morning: one step, at half pace. {step.reason}",
                (*(s.event.event_id for s in behind), *causes),
                at,
            ),
            dose=step.dose,
            level=step.level,
            direction="up",
        )
        track.step = StepUp(before, tuple(s.session_id for s in behind), at)
        track.hold = None
        state.steps_in_epoch += 1
        stepped += 1


def _steps_earned_by(state: State, session: Session) -> int:
    """D11: the step-ups standing that `session` earned (P1-P4 at it, D9 after it)."""
    return sum(
        1
        for tr in state.tracks.values()
        if tr.step is not None and tr.step.sessions and tr.step.sessions[-1] == session.session_id
    )
