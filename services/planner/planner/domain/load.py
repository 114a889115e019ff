"""D8 / B4: training load (session RPE x minutes) and the acute:chronic workload ratio."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from planner.domain import rules_table as t
from planner.domain.windows import TimeOrdered, load_at


def session_minutes(payload: Mapping[str, Any]) -> float | None:
    if payload.get("duration_min") is not None:
        return float(payload["duration_min"])
    total = sum(
        float(s.get("duration_min") or 0)
        for e in payload.get("exercises", ())
        for s in e.get("sets", ())
    )
    return total or None


def session_load(payload: Mapping[str, Any]) -> float | None:
    """Session effort (the mean RPE the entries report) x minutes; None when either is unknown."""
    rpes = [float(e["rpe"]) for e in payload.get("exercises", ()) if e.get("rpe") is not None]
    minutes = session_minutes(payload)
    if not rpes or minutes is None:
        return None
    return sum(rpes) / len(rpes) * minutes


def acwr(
    loads: Sequence[tuple[datetime, float]], at: datetime
) -> tuple[float, float, float | None]:
    """(acute, chronic weekly average, ratio). The ratio is None until 28 days of data exist."""
    timed = loads if isinstance(loads, TimeOrdered) else TimeOrdered(load_at, loads)
    ratio = timed.memo(("acwr", at), lambda: _acwr(timed, at))
    return ratio


def _acwr(
    timed: TimeOrdered[tuple[datetime, float]], at: datetime
) -> tuple[float, float, float | None]:
    acute_start = at - timedelta(days=t.B4_ACUTE_DAYS)
    chronic_start = at - timedelta(days=t.B4_CHRONIC_DAYS)
    chronic_window = timed.after(chronic_start, at)  # the acute window is its tail
    acute = sum(load for when, load in chronic_window if acute_start < when)
    chronic = sum(load for _, load in chronic_window)
    chronic_weekly = chronic * t.B4_ACUTE_DAYS / t.B4_CHRONIC_DAYS
    first = timed.first_instant()
    if first is None or at - first < timedelta(days=t.B4_CHRONIC_DAYS) or chronic_weekly <= 0:
        return acute, chronic_weekly, None
    return acute, chronic_weekly, acute / chronic_weekly
