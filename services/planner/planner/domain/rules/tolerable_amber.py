"""D9 tolerable amber, after the pain-monitoring model: pain during of 3-5 that is back to the
usual level by the next morning (a report at or below usual + 1), with a 7-day mean that is not
rising, allows progression at half pace: one step per 14 local days.

Amber that does not settle, or that no next-morning report follows, holds the dose (R5). The
step is taken when the settling report arrives, since only then is the evidence complete.
"""

from datetime import datetime

from planner.domain import rules_table as t
from planner.domain.ladder import ex_name, step_up
from planner.domain.pain import rising
from planner.domain.routine import Hold
from planner.domain.rules.pain_rules import NOT_PROGRESSED
from planner.domain.rules.progression import meets_dose
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


def d9_tolerable_amber(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    if not session.amber or not session.settled or rising(state, at):
        return
    if state.paused is not None or state.deload_from is not None:
        return
    if state.no_progress_next_session is not None:
        return
    for key in sorted(session.amber):
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED or track.frozen_clean_needed > 0:
            continue
        since = local_days_between(state, track.rx.last_change.at, at)
        if since < t.D9_MIN_DAYS_BETWEEN_STEPS:
            track.hold = Hold(
                "D9",
                f"Pain stayed tolerable: at most one step every {t.D9_MIN_DAYS_BETWEEN_STEPS} "
                "days while it does.",
            )
            continue
        behind = [
            state.sessions[sid]
            for sid in state.session_order
            if key in state.sessions[sid].entries
            and state.sessions[sid].event.occurred_at <= session.event.occurred_at
        ][-t.P5_SESSIONS_AT_DOSE :]
        if len(behind) < t.P5_SESSIONS_AT_DOSE or not all(
            _tolerable(s, key, track) for s in behind
        ):
            continue
        step = step_up(track.ex, track.rx.dose, track.rx.variation_level)
        if step is None:
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
