"""S2 while pain is above green (finding 2): loaded twisting and running step out, and return
only once the gates their entry needs pass again.

They wait in `State.s2_parked` at the dose they had, apart from what R3 keeps for core and
what hill sprints replaced, so that neither a core clearance nor another rule brings them back.
"""

from collections.abc import Callable
from datetime import datetime

from planner.domain.evidence import green_week
from planner.domain.exercises import Exercise
from planner.domain.ladder import ex_name
from planner.domain.rules.decisions import d1_twisting_gate, d2_running_gate
from planner.domain.rules.starting import s2_low_impact_first
from planner.domain.state import State, Why


def _guarded(ex: Exercise) -> bool:
    return ex.loaded_twist or ex.running or ex.high_impact


def _gate(ex: Exercise) -> Callable[[State, datetime], bool]:
    if ex.high_impact:
        return lambda state, at: s2_low_impact_first(state, ex.slug, at) and green_week(state, at)
    if ex.running:
        return d2_running_gate
    return d1_twisting_gate


def s2_park_while_in_pain(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """Amber or red pain in the last 7 days: loaded twisting and running are held out."""
    if green_week(state, at):
        return
    for key in sorted(k for k, tr in state.tracks.items() if _guarded(tr.ex)):
        track = state.tracks[key]
        state.s2_parked[key] = track
        state.hold_out(
            key,
            why=Why(
                "S2",
                f"Pain above the green zone this week: {ex_name(track.ex)} waits until your "
                "pain has been calm for the weeks it needs.",
                causes,
                at,
            ),
        )


def s2_resume_when_quiet(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """A parked exercise returns at the dose it had once its entry gate passes again."""
    for key in sorted(state.s2_parked):
        track = state.s2_parked[key]
        if not _gate(track.ex)(state, at):
            continue
        del state.s2_parked[key]
        state.held_out.pop(key, None)
        state.tracks[key] = track
        dose, level = track.rx.dose, track.rx.variation_level
        state.change(
            track,
            why=Why(
                "S2",
                f"Your pain has been calm for long enough: {ex_name(track.ex)} is back.",
                causes,
                at,
            ),
            dose=dose,
            level=level,
            direction="set",
        )


def s2_gate_what_returns(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """What another rule brings back (R3's core clearance) passes S2's gates first; until they
    pass, loaded twisting waits with S2 like any parked exercise."""
    for key in sorted(k for k, tr in state.tracks.items() if _guarded(tr.ex)):
        track = state.tracks[key]
        if _gate(track.ex)(state, at):
            continue
        state.s2_parked[key] = track
        state.hold_out(
            key,
            why=Why(
                "S2",
                f"{ex_name(track.ex).capitalize()} waits until your pain has been calm for the "
                "weeks it needs.",
                causes,
                at,
            ),
        )
