"""R1-R6, and the pain-monitoring model (B1): pain rules win over every progression rule."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.exercises import RED_FLAG_TIERS
from planner.domain.holds import holding
from planner.domain.ladder import ease_back, ex_name
from planner.domain.routine import Prescription
from planner.domain.rules.ease import d12_ease_one_dimension
from planner.domain.state import CoreFlare, Key, Pause, Session, State, Track, Why

NOT_PROGRESSED = ("warmup", "cooldown")  # S3 doses are fixed


def interrupt_progression(state: State, at: datetime) -> None:
    """Any setback restarts the count towards the next deload week (B3)."""
    state.epoch_start = at
    state.steps_in_epoch = 0


def _ease_to_below(
    state: State, track: Track, base: Prescription, session: Session, why: Why
) -> None:
    """Set the dose one step below the dose that hurt, unless it was already eased since."""
    last = track.rx.last_change
    if last.at > session.event.occurred_at and last.direction in ("down", "revert"):
        return
    if track.key in session.lighter:
        # B3: the session was done in the lighter week's form (eased or not since). The step
        # down is taken from the dose the week ends at, or ended at if it is over (D12: one
        # dimension), never from the lighter form laid over it.
        hurt = state.standing(track)
    else:
        hurt = (base.dose, base.variation_level)
    lower = d12_ease_one_dimension(state, track, *hurt)
    dose, level = lower if lower is not None else hurt
    if (dose, level) == state.standing(track):
        track.clean_sessions = []
        return
    if _stepped_after(track, session):  # D12: undo the step the session earned, then one down
        _undo_step(state, track, why)
    state.set_standing(track, why=why, dose=dose, level=level, direction="down")


def r1_stop_on_sharp_pain(
    state: State, session: Session, keys: list[Key], causes: tuple[str, ...], at: datetime
) -> None:
    """R1: red-zone pain during an exercise: stop it, regress it one step, freeze it for 2 clean sessions."""
    for key in keys:
        track = state.tracks.get(key)
        session.disqualified.add(key)
        if key in session.red or track is None or key[0] in NOT_PROGRESSED:
            continue
        session.red.add(key)
        base = session.doses.get(key, track.rx)
        _ease_to_below(
            state,
            track,
            base,
            session,
            Why(
                "R1",
                f"Sharp pain during {ex_name(track.ex)}: stop it for that session and do one "
                "step less next time. It stays here until two sessions pass without pain.",
                causes,
                at,
            ),
        )
        track.frozen_clean_needed = t.R1_CLEAN_SESSIONS_TO_UNFREEZE
        track.hold = holding("r1_frozen", n=t.R1_CLEAN_SESSIONS_TO_UNFREEZE)
    interrupt_progression(state, at)


def r2_ease_back_after_24h_pain(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    """R2: pain lasting 24 hours: every exercise of that session one step down, and none progresses next."""
    if session.eased:
        return
    session.eased = True
    if state.last_session() is not session:
        # a later session already happened: "the following session" is past, but the session
        # that hurt still proves nothing towards the next step ("none progresses")
        r2_late_report_proves_nothing(state, session, causes, at)
        return
    for key in sorted(session.entries):
        track = state.tracks.get(key)
        session.disqualified.add(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        base = session.doses.get(key, track.rx)
        _ease_to_below(
            state,
            track,
            base,
            session,
            Why(
                "R2",
                "Pain lasted 24 hours after your last session: ease back slightly this time.",
                causes,
                at,
            ),
        )
        track.hold = holding("r2_eased")
    state.no_progress_next_session = causes
    interrupt_progression(state, at)


def r2_late_report_proves_nothing(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    """R2 after the following session: the session with lasting pain no longer counts towards
    P5 (the clean run restarts after it), and a step it earned that still stands is undone."""
    for key in sorted(session.entries):
        session.disqualified.add(key)
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        run = track.clean_sessions
        if session.event.event_id in run:
            track.clean_sessions = run[run.index(session.event.event_id) + 1 :]
        if _stepped_after(track, session):
            _undo_step(
                state,
                track,
                Why(
                    "R2",
                    "Pain lasted 24 hours after a session that earned this step: back to the "
                    "dose before it.",
                    causes,
                    at,
                ),
            )
        track.hold = holding("r2_late")
    interrupt_progression(state, at)


def r3_flare_up_from_core(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """R3: a flare-up from core work holds out every core exercise until a doctor has been consulted."""
    for key in sorted(k for k in state.tracks if k[0] == "core"):
        state.parked[key] = state.tracks[key]
        state.hold_out(
            key,
            why=Why(
                "R3",
                "Core work caused a flare-up: do not do it until you have spoken to a doctor.",
                causes,
                at,
            ),
        )
    state.core_flare = CoreFlare(at, causes)


def r3_resume_core(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """After a clinician's clearance for core work, core returns one step below where it stopped."""
    if state.core_flare is None:
        return
    state.core_flare = None
    for key in sorted(k for k in state.parked if k[0] == "core"):  # finding 5: core only
        track = state.parked.pop(key)
        state.held_out.pop(key, None)
        state.tracks[key] = track
        standing = state.standing(track)
        lower = ease_back(track.ex, *standing)
        dose, level = lower if lower is not None else standing
        state.set_standing(
            track,
            why=Why(
                "R3",
                f"Your clinician cleared core work: {ex_name(track.ex)} resumes one step lower.",
                causes,
                at,
            ),
            dose=dose,
            level=level,
            direction="down",
        )


def r4_revert_on_setback(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """R4: the 7-day mean pain is 2+ points above the week before: undo the last progression
    step, every exercise the most recent stepping session stepped up."""
    if state.r4_reverted_at is not None and at - state.r4_reverted_at < timedelta(
        days=t.R4_TREND_WINDOW_DAYS
    ):
        return
    stepped = {key: tr.step.at for key, tr in state.tracks.items() if tr.step is not None}
    if not stepped:
        return
    # Finding 8: the last step is everything the most recent stepping session stepped up.
    last = max(stepped.values())
    for key in sorted(k for k, when in stepped.items() if when == last):
        _undo_step(
            state,
            state.tracks[key],
            Why(
                "R4",
                "Your pain has risen over the last week: back to the dose before the last "
                "step, to avoid a setback.",
                causes,
                at,
            ),
        )
    state.r4_reverted_at = at
    interrupt_progression(state, at)


def r5_form_before_volume(
    state: State, session: Session, keys: list[Key], causes: tuple[str, ...], at: datetime
) -> None:
    """R5: amber pain holds the dose (undoing a step this session earned) and keeps the form cues."""
    for key in keys:
        session.disqualified.add(key)
        session.amber.add(key)
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        track.clean_sessions = []
        if _stepped_after(track, session):
            _undo_step(
                state,
                track,
                Why(
                    "R5",
                    f"Pain during {ex_name(track.ex)} was moderate: keep the previous "
                    "dose and focus on form.",
                    causes,
                    at,
                ),
            )
        track.hold = holding("r5_form")


def b1_back_to_usual_by_next_morning(
    state: State, session: Session, causes: tuple[str, ...], at: datetime
) -> None:
    """B1: pain above the usual level the next morning: that session proves nothing, any step it earned is undone."""
    for key in sorted(session.entries):
        session.disqualified.add(key)
        track = state.tracks.get(key)
        if track is None or key[0] in NOT_PROGRESSED:
            continue
        track.clean_sessions = []
        if _stepped_after(track, session):
            _undo_step(
                state,
                track,
                Why(
                    "B1",
                    "Pain was not back to its usual level the next morning: keep the previous "
                    "dose.",
                    causes,
                    at,
                ),
            )
        track.hold = holding("b1_next_morning")


def _stepped_after(track: Track, session: Session) -> bool:
    """Did this session earn the track's last step-up, and does that step still stand?"""
    return track.step is not None and session.session_id in track.step.sessions


def _undo_step(state: State, track: Track, why: Why) -> None:
    """Back to the dose before the last step-up, even under a lighter week that started since."""
    step = track.step
    if step is None:
        return
    before = step.before
    state.set_standing(
        track, why=why, dose=before.dose, level=before.variation_level, direction="revert"
    )


def r6_wording(flags: Sequence[str]) -> tuple[str, str]:
    """R6's referral (reason, B2 tier) for these red flags: the fail safe says it too."""
    tier = "emergency" if any(RED_FLAG_TIERS.get(f) == "emergency" for f in flags) else "urgent"
    names = ", ".join(f.replace("_", " ") for f in sorted(set(flags)))
    if tier == "emergency":
        return f"Red-flag symptoms ({names}): stop exercising and seek medical care now.", tier
    return (
        f"Red-flag symptoms ({names}): pause exercise and see a medical professional urgently.",
        tier,
    )


def r6_referral(state: State, flags: list[str], causes: tuple[str, ...], at: datetime) -> None:
    """R6 with the B2 tiers: any red flag pauses the routine; cauda equina signs say "seek care now"."""
    reason, tier = r6_wording(flags)
    if state.paused is not None and state.paused.tier == "emergency" and tier == "urgent":
        return  # never downgrade a pause
    state.paused = Pause(reason, tier, causes, at)
    state.note(why=Why("R6", reason, causes, at), direction="pause")
    interrupt_progression(state, at)


def r6_resume_after_clearance(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """R6: only a clinician's review of the red flag (`red_flag_reviewed`) resumes the routine,
    whatever the tier; every exercise re-earns its next step."""
    if state.paused is None or state.paused.at > at:
        return
    if not state.cleared(t.R6_RESUME_SCOPE, after=state.paused.at):
        return  # finding 4: a clearance for something else is not a review of the red flag
    state.paused = None
    state.void_evidence(at)
    state.note(
        why=Why(
            "R6", "A clinician has seen you: the routine resumes at the doses it had.", causes, at
        ),
        direction="resume",
    )
