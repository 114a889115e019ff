"""G1: small, measurable weekly or monthly goals, their progress, and the next small one."""

from datetime import date, datetime, timedelta
from typing import Any

from planner.domain import rules_table as t
from planner.domain.load import session_minutes
from planner.domain.routine import JSON
from planner.domain.state import Session, State


def period_start(day: date, period: str) -> date:
    if period == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # ISO weeks: Monday; weeks wrap across years


def measure(sessions: list[Session], metric: str, exercise: str | None) -> float:
    """The value a goal metric reached over some sessions."""

    def sets(slug: str) -> list[dict[str, Any]]:
        return [
            dict(s)
            for ses in sessions
            for (_, ex), e in ses.entries.items()
            if ex == slug
            for s in e.get("sets", ())
        ]

    if metric == "sessions_per_week":
        return float(len(sessions))
    if metric == "weekly_minutes":
        return float(sum(session_minutes(s.event.payload) or 0 for s in sessions))
    if metric == "walk_min":
        per = [
            sum(float(x.get("duration_min") or 0) for x in e.get("sets", ()))
            for s in sessions
            for (block, ex), e in s.entries.items()
            if ex == "walking" and block == "cardio"
        ]
        return max(per, default=0.0)
    if metric in ("plank_s", "hold_s"):
        slug = "plank" if metric == "plank_s" else (exercise or "")
        return max((float(x.get("hold_s") or 0) for x in sets(slug)), default=0.0)
    if metric == "new_exercise":
        return 1.0 if any(ex == exercise for s in sessions for (_, ex) in s.entries) else 0.0
    return 0.0


def g1_goal_progress(state: State, as_of: datetime) -> list[JSON]:
    if state.last_event is None:
        return []
    today = state.local_date(as_of)  # finding 10: this week is the week asked about
    out: list[JSON] = []
    for goal_id in sorted(state.goals):
        goal, event = state.goals[goal_id]
        period = str(goal.get("period", "week"))
        start = period_start(today, period)
        sessions = state.sessions_from_day(start)
        value = measure(sessions, str(goal["metric"]), goal.get("exercise"))
        target = float(goal["target"])
        achieved = value >= target
        out.append(
            {
                "goal_id": goal_id,
                "metric": goal["metric"],
                "exercise": goal.get("exercise"),
                "period": period,
                "period_start": start.isoformat(),
                "target": target,
                "value": value,
                "achieved": achieved,
                "rule": "G1",
                "set_by": event.event_id,
                "next_goal": _next(goal, target) if achieved else None,
            }
        )
    return out


def _next(goal: Any, target: float) -> JSON:
    metric = str(goal["metric"])
    if metric == "new_exercise":
        return {
            "metric": metric,
            "target": 1,
            "description": "Learn one more exercise or stretch variation.",
        }
    step = max(1.0, round(target * t.G1_NEXT_GOAL_PCT / 100, 1))
    return {
        "metric": metric,
        "target": target + step,
        "description": f"Next small goal: {metric.replace('_', ' ')} {target + step:g}.",
    }
