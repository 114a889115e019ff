"""Small builders for LoggedEvent histories in tests."""

import itertools
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from planner.domain import LoggedEvent

TZ = timezone(timedelta(hours=2))
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=TZ)  # a Monday, 09:00 local


class History:
    def __init__(self, user: str = "u1", start: datetime = T0) -> None:
        self.user = user
        self.start = start
        self.events: list[LoggedEvent] = []
        self._versions = itertools.count(1)

    def at(self, day: float, hour: float = 0) -> datetime:
        return self.start + timedelta(days=day, hours=hour)

    def add(
        self,
        type_: str,
        payload: dict[str, Any],
        when: datetime,
        source: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> LoggedEvent:
        v = next(self._versions)
        ev = LoggedEvent(
            event_id=event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.user}/{v}")),
            type=type_,
            user_id=self.user,
            occurred_at=when,
            stream_version=v,
            position=1000 + v,
            source=source or {"kind": "app", "name": "app"},
            payload=payload,
        )
        self.events.append(ev)
        return ev

    def baseline(self, day: float = 0, **payload: Any) -> LoggedEvent:
        return self.add("baseline.assessed", payload, self.at(day))

    def workout(
        self,
        day: float,
        exercises: list[dict[str, Any]],
        session_id: str | None = None,
        duration_min: float | None = None,
        hour: float = 1,
        **kw: Any,
    ) -> LoggedEvent:
        payload: dict[str, Any] = {"session_id": session_id or f"s-{day}", "exercises": exercises}
        if duration_min is not None:
            payload["duration_min"] = duration_min
        return self.add("workout.logged", payload, self.at(day, hour), **kw)

    def pain(
        self, day: float, score: int, timing: str, hour: float = 2, **payload: Any
    ) -> LoggedEvent:
        body: dict[str, Any] = {
            "score": score,
            "timing": timing,
            "location": "lower back",
            "red_flags": [],
        }
        body.update(payload)
        return self.add("pain.reported", body, self.at(day, hour))


def entry(
    exercise: str,
    kind: str,
    sets: list[dict[str, Any]] | None = None,
    completed: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    return {
        "exercise": exercise,
        "kind": kind,
        "sets": sets or [],
        "completed": completed,
        "stopped_for_pain": kw.pop("stopped_for_pain", False),
        **kw,
    }


def full_session(routine: Any, rpe: float = 4) -> list[dict[str, Any]]:
    """A session doing exactly what the routine prescribes."""
    kinds = {
        "warmup": "warmup",
        "stretching": "stretch",
        "strength": "strength",
        "core": "core",
        "cardio": "cardio",
        "cooldown": "cooldown",
    }
    out = []
    for block in routine.blocks:
        for p in block.prescriptions:
            d = p.dose
            sets = []
            for _ in range(d.sets or 1):
                s: dict[str, Any] = {}
                if d.hold_s is not None:
                    s["hold_s"] = d.hold_s
                if d.reps is not None:
                    s["reps"] = d.reps
                if d.load_kg is not None:
                    s["load_kg"] = d.load_kg
                if d.duration_min is not None:
                    s["duration_min"] = d.duration_min
                if d.interval is not None:
                    s["duration_min"] = (
                        d.interval.hard_min + d.interval.easy_min
                    ) * d.interval.rounds
                sets.append(s)
            if not any(sets[0].values()) if sets else True:
                sets = []
            out.append(entry(p.exercise, kinds[block.block], sets, rpe=rpe))
    return out


def follow_plan(
    h: History, weeks: int, days: tuple[int, ...] = (0, 2, 4), rpe: float = 4, start_week: int = 0
) -> None:
    """The user does exactly what the routine prescribes on the given weekdays."""
    from planner.domain import derive_routine

    for week in range(start_week, start_week + weeks):
        for d in days:
            day = week * 7 + d
            routine = derive_routine(h.events, h.at(day, 0.5))
            if routine.status != "active":
                continue
            h.workout(day, full_session(routine, rpe), duration_min=45)


def session(
    h: History,
    day: float,
    rpe: float = 4,
    only: tuple[str, ...] | None = None,
    **entry_overrides: Any,
) -> LoggedEvent:
    """Log the session the routine prescribes on `day` (optionally only some exercises)."""
    from planner.domain import derive_routine

    routine = derive_routine(h.events, h.at(day, 0.5))
    entries = [e for e in full_session(routine, rpe) if only is None or e["exercise"] in only]
    for e in entries:
        e.update(entry_overrides.get(e["exercise"], {}))
    return h.workout(day, entries, duration_min=45)


def rx(h: History, block: str, exercise: str, day: float = 400):
    from planner.domain import derive_routine

    return derive_routine(h.events, h.at(day)).prescription(exercise, block)


def focus(*slugs: str) -> list[str]:
    """Contraindications that leave only `slugs` of the starting routine (with warm-up and
    cool-down): a rule's test then watches its exercises step together, within D11's limit of
    three step-ups a session."""
    from planner.domain.exercises import (
        STARTING_CARDIO,
        STARTING_CORE,
        STARTING_STRENGTH,
        STARTING_STRETCHES,
    )

    every = (*STARTING_STRETCHES, *STARTING_STRENGTH, *STARTING_CORE, *STARTING_CARDIO)
    assert set(slugs) <= set(every) and len(slugs) <= 3
    return [s for s in every if s not in slugs]
