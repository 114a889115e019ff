"""The user's progress per local week: pain trend, training load and its ratio, goal progress."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from planner.domain.engine import fold
from planner.domain.history import LoggedEvent
from planner.domain.load import acwr, session_load, session_minutes
from planner.domain.routine import JSON
from planner.domain.rules.goals import measure, period_start
from planner.domain.rules_table import RULES_VERSION
from planner.domain.state import State
from planner.domain.timeline import ordered


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def progress(history: Iterable[LoggedEvent], as_of: datetime) -> JSON:
    """A JSON-ready summary: pure, the same whatever order the events arrived in."""
    events = ordered(history, as_of)
    state = fold(events)
    if not events:
        return {"rules_version": RULES_VERSION, "weeks": [], "acute_chronic": None, "goals": []}
    first = period_start(state.local_date(events[0].occurred_at), "week")
    last = period_start(state.local_date(events[-1].occurred_at), "week")
    weeks: list[JSON] = []
    monday = first
    while monday <= last:
        weeks.append(_week(state, monday))
        monday += timedelta(days=7)
    end = events[-1].occurred_at
    acute, chronic, ratio = acwr(state.loads, end)
    goals = []
    for goal_id in sorted(state.goals):
        goal, event = state.goals[goal_id]
        per_week = []
        for w in weeks:
            start = date.fromisoformat(w["week_start"])
            sessions = [
                state.sessions[s]
                for s in state.session_order
                if start <= state.sessions[s].day < start + timedelta(days=7)
            ]
            per_week.append(
                {
                    "week_start": w["week_start"],
                    "value": measure(sessions, str(goal["metric"]), goal.get("exercise")),
                }
            )
        goals.append(
            {
                "goal_id": goal_id,
                "metric": goal["metric"],
                "target": float(goal["target"]),
                "period": goal.get("period"),
                "set_by": event.event_id,
                "weeks": per_week,
            }
        )
    return {
        "rules_version": RULES_VERSION,
        "weeks": weeks,
        "acute_chronic": {
            "acute": _r(acute),
            "chronic_weekly": _r(chronic),
            "ratio": _r(ratio),
            "at": end.isoformat(),
            "rule": "B4",
        },
        "goals": goals,
    }


def _week(state: State, monday: date) -> JSON:
    end = monday + timedelta(days=7)
    scores = [p.score for p in state.pain if monday <= state.local_date(p.at) < end]
    sessions = [
        state.sessions[s] for s in state.session_order if monday <= state.sessions[s].day < end
    ]
    loads = [session_load(s.event.payload) for s in sessions]
    minutes = [session_minutes(s.event.payload) or 0.0 for s in sessions]
    return {
        "week_start": monday.isoformat(),
        "pain": {
            "mean": _r(sum(scores) / len(scores)) if scores else None,
            "max": max(scores) if scores else None,
            "reports": len(scores),
        },
        "sessions": len(sessions),
        "minutes": _r(sum(minutes)),
        "load": _r(sum(x for x in loads if x is not None)),
    }
