"""Pain as the rules read it: zones, the session a report belongs to, and the weekly trend."""

from datetime import datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.history import LoggedEvent
from planner.domain.state import Key, Session, State

DURING = ("during", "after")
LATER = ("24h_after", "next_morning")


def zone(score: int) -> str:
    """Pain during exercise: green (progress allowed), amber (hold), red (stop and regress)."""
    if score <= t.ZONE_GREEN_MAX:
        return "green"
    if score <= t.ZONE_AMBER_MAX:
        return "amber"
    return "red"


def session_for(state: State, report: LoggedEvent) -> Session | None:
    session_id = report.payload.get("session_id")
    if session_id is not None:
        return state.sessions.get(str(session_id))
    timing = report.payload.get("timing")
    exercise = report.payload.get("exercise")
    if timing in DURING and exercise and zone(int(report.payload["score"])) == "red":
        found = d21_session_with(state, report, str(exercise))
        if found is not None:
            return found
    if timing in DURING:
        window = timedelta(hours=t.PAIN_SESSION_WINDOW_HOURS)
    elif timing in LATER or _lasting(report):
        window = timedelta(hours=t.R2_SESSION_LOOKBACK_HOURS)
    else:
        return None
    for sid in reversed(state.session_order):
        session = state.sessions[sid]
        if session.event.occurred_at <= report.occurred_at:
            return session if report.occurred_at - session.event.occurred_at <= window else None
    return None


def d21_session_with(state: State, report: LoggedEvent, exercise: str) -> Session | None:
    """D21: red pain naming an exercise but no session belongs to the latest session with that
    exercise in the 24 hours before the report."""
    window = timedelta(hours=t.D21_LOOKBACK_HOURS)
    for sid in reversed(state.session_order):
        session = state.sessions[sid]
        done = session.event.occurred_at
        if done > report.occurred_at:
            continue
        if report.occurred_at - done > window:
            return None
        if any(key[1] == exercise for key in session.entries):
            return session
    return None


def _lasting(report: LoggedEvent) -> bool:
    hours = report.payload.get("lasting_hours")
    return hours is not None and float(hours) >= t.R2_LASTING_HOURS


def lasts_24_hours(state: State, report: LoggedEvent) -> bool:
    """R2 as D12 reads it: pain a day after the session at or above the usual level + 2, or in
    the red zone; closer to usual it is the person's everyday pain."""
    score = int(report.payload["score"])
    later = report.payload.get("timing") == "24h_after" or _lasting(report)
    return later and (score >= state.usual_pain + t.D12_R2_RISE_POINTS or zone(score) == "red")


def keys_for(state: State, session: Session, exercise: str | None) -> list[Key]:
    keys = [k for k in session.entries if exercise is None or k[1] == exercise]
    if not keys and exercise is not None:  # named an exercise the log did not list: still that one
        keys = [k for k in state.tracks if k[1] == exercise]
    return sorted(keys)


def weekly_means(state: State, at: datetime) -> tuple[float, float] | None:
    """Mean pain of the last 7 days and of the 7 days before (R4, B1); None without both."""
    means = state.pain.memo(("weekly_means", at), lambda: _weekly_means(state, at))
    return means


def _weekly_means(state: State, at: datetime) -> tuple[float, float] | None:
    week = timedelta(days=t.R4_TREND_WINDOW_DAYS)
    now = [p.score for p in state.pain_between(at - week, at + timedelta(microseconds=1))]
    before = [p.score for p in state.pain_between(at - 2 * week, at - week)]
    if not now or not before:
        return None
    return sum(now) / len(now), sum(before) / len(before)


def rising(state: State, at: datetime) -> bool:
    means = weekly_means(state, at)
    return means is not None and means[0] - means[1] >= t.R4_TREND_RISE_POINTS
