"""B3: a lighter week after every 5 weeks of uninterrupted progression.

The week starts with the first event on or after its due day and ends with the first event
7 days later, so every change it makes is caused by (and dated by) a logged event.
"""

from datetime import date, datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.history import LoggedEvent
from planner.domain.holds import holding
from planner.domain.ladder import lighter
from planner.domain.pain import rising
from planner.domain.rules.pain_rules import NOT_PROGRESSED
from planner.domain.state import State, Why, local_days_between


def deload_due(state: State) -> date | None:
    if state.epoch_start is None:
        return None
    return state.local_date(state.epoch_start) + timedelta(weeks=t.B3_WEEKS_BEFORE_DELOAD)


def b3_deload_week(state: State, event: LoggedEvent) -> None:
    """Start or end the lighter week as the calendar reaches it."""
    today = state.local_date(event.occurred_at)
    causes = (event.event_id,)
    at = event.occurred_at
    if state.deload_from is not None:
        # Finding 11: while pain is still rising the week goes on; it never ends at full dose.
        if today >= state.deload_from + timedelta(days=7) and not rising(state, at):
            _end(state, causes, at)
        return
    due = deload_due(state)
    if state.paused is not None or state.steps_in_epoch == 0 or due is None or today < due:
        return
    last = state.last_session()
    if last is None or local_days_between(state, last.event.occurred_at, at) >= t.D14_BREAK_DAYS:
        return  # after a break progression was not uninterrupted: D14 restarts the count
    state.deload_from = today
    state.deload_causes = causes
    for key in sorted(state.tracks):
        track = state.tracks[key]
        if key[0] in NOT_PROGRESSED:
            continue
        new = lighter(track.rx.dose, key[0])
        if new == track.rx.dose:
            continue
        state.deload_base[key] = (track.rx.dose, track.rx.variation_level)
        state.change(
            track,
            why=Why(
                "B3",
                f"Five weeks of steady progress: a lighter week until {today + timedelta(days=7)}.",
                causes,
                at,
            ),
            dose=new,
            level=track.rx.variation_level,
            direction="deload",
        )
        track.hold = holding("b3_lighter_week")
    state.note(why=Why("B3", "A lighter (deload) week starts.", causes, at), direction="deload")


def _end(state: State, causes: tuple[str, ...], at: datetime) -> None:
    for key in sorted(state.deload_base):
        dose, level = state.deload_base[key]
        track = state.tracks.get(key)
        # Back to the dose the exercise stands at: what it had, or what a pain rule set during
        # the week (State.set_standing), never a step that pain undid meanwhile.
        if track is not None:
            state.change(
                track,
                why=Why("B3", "The lighter week is over: back to your usual dose.", causes, at),
                dose=dose,
                level=level,
                direction="restore",
            )
            track.hold = None
    state.deload_base.clear()
    state.deload_from = None
    state.epoch_start = at
    state.steps_in_epoch = 0
    state.note(why=Why("B3", "The lighter week is over.", causes, at), direction="restore")
