"""What the evidence gates read: weeks of logged sessions without pain above a zone.

Silence is not pain-free (finding 3): a week counts towards "N weeks without amber or red pain"
only when it holds at least `EVIDENCE_SESSIONS_PER_WEEK` logged sessions.
"""

from datetime import datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.state import State

_WEEK = timedelta(days=7)
_NOW = timedelta(microseconds=1)  # a window ending at `at` includes what happened at `at`


def calm(state: State, start: datetime, at: datetime, above: int) -> bool:
    """No pain above `above` and no flare from `start` up to and including `at`."""
    painful = [p for p in state.pain_between(start, at + _NOW) if p.score > above]
    return not painful and not state.flares_since(start)


def sessions_between(state: State, start: datetime, end: datetime) -> int:
    """Logged sessions after `start`, up to and including `end`."""
    return len(state.sessions_after(start, end))


def quiet_weeks(state: State, at: datetime, weeks: int, above: int) -> bool:
    """The last `weeks` weeks up to `at` each held enough logged sessions, and no pain above
    `above` (nor a flare) came in any of them."""
    for back in range(weeks):
        end = at - back * _WEEK
        if sessions_between(state, end - _WEEK, end) < t.EVIDENCE_SESSIONS_PER_WEEK:
            return False
    return calm(state, at - weeks * _WEEK, at, above)


def green_week(state: State, at: datetime) -> bool:
    """S2: the last 7 days held no amber or red pain (no evidence needed to stay out of it)."""
    return calm(state, at - timedelta(days=t.S2_PAIN_WINDOW_DAYS), at, t.ZONE_GREEN_MAX)
