"""Invariants of output that depends on time (December: "computed at the instant asked"): the
simulator derives the routine at a quiet instant, days after the last event, as an app opening
the routine would, and checks what that routine says."""

from collections.abc import Callable
from datetime import datetime, timedelta

from planner.domain.routine import Routine
from tests.simulation.patients import Patient
from tests.simulation.record import Record

COLD_WINDOW = timedelta(hours=72)  # F3
LOGGED_WITHIN = timedelta(minutes=1)  # the workout is logged 30 s after the session starts
InstantCheck = Callable[[Routine, datetime, Record, Patient], list[str]]


def _last_flare(record: Record) -> datetime | None:
    flares = [
        p.at
        for p in record.pain
        if p.flare_cause or (p.timing == "24h_after" and p.score >= record.usual_pain + 2)
    ]
    return max(flares, default=None)


def f3_cold_advice_expires(
    routine: Routine, as_of: datetime, record: Record, patient: Patient
) -> list[str]:
    """F3: cold "within 48-72 hours" of a flare: not shown once 72 hours have passed."""
    last = _last_flare(record)
    shown = any(a.rule == "F3" for a in routine.advice)
    if shown and (last is None or as_of - last > COLD_WINDOW):
        days = "no flare" if last is None else f"{(as_of - last).days} days after the flare"
        return [f"F3 cold advice still shown {days}"]
    return []


def f1_says_too_few_sessions(
    routine: Routine, as_of: datetime, record: Record, patient: Patient
) -> list[str]:
    """F1: fewer than 3 sessions in the last 7 days (at the instant asked) says so. A session is
    in the window when its workout was logged in it: the patient starts at `at` and logs the
    workout 30 s later; only the logged instant is a fact the planner has."""
    if routine.status != "active" or as_of - record.start < timedelta(days=7):
        return []
    start = as_of - timedelta(days=7)
    count = sum(
        1
        for s in record.sessions_between(start - LOGGED_WITHIN, as_of)
        if start < record.events_at.get(s.event_id, s.at) <= as_of
    )
    if count < 3 and not any(a.rule == "F1" for a in routine.advice):
        return [f"{count} sessions in the 7 days to the instant asked and no F1 advice"]
    return []


def next_session_is_not_in_the_past(
    routine: Routine, as_of: datetime, record: Record, patient: Patient
) -> list[str]:
    """December: the next session starts from the instant asked."""
    if routine.status != "active":
        return []
    nxt = (routine.weekly_plan.get("next_session") or {}).get("date")
    today = patient.clock.local_day(as_of)
    if nxt is not None and nxt < today.isoformat():
        return [f"next session {nxt}, asked on {today}"]
    return []
