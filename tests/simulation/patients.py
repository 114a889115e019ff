"""Patient models: how a simulated patient attends, performs its routine and reports pain.

Each model is a small class; the base class is a compliant patient with green pain, and each
model changes only what makes it that kind of patient. Randomness comes from the `rng` a
patient is given, so a seed reproduces a patient exactly.
"""

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from planner.domain.routine import Prescription
from tests.simulation.local_calendar import PatientClock

HOME_ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata")
KINDS = {
    "warmup": "warmup",
    "stretching": "stretch",
    "strength": "strength",
    "core": "core",
    "cardio": "cardio",
    "cooldown": "cooldown",
}


@dataclass
class Report:
    """A pain report a patient will send: `after` the session (or its timing decides when)."""

    score: int
    timing: str  # during | after | 24h_after | next_morning | rest
    exercise: str | None = None
    names_session: bool = True
    after: timedelta | None = None  # when None: during -> before the log, next_morning -> 08:00
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Happening:
    """Something on a day that is not a session: a clearance, a red flag, a rest-day walk."""

    type: str
    payload: dict[str, Any]
    at: time
    clinician: bool = False


class Patient:
    """Compliant, green: attends every planned day, does exactly the dose, pain 0-2."""

    model = "compliant_green"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        self.rng = rng
        self.weeks = weeks
        self.usual_pain = rng.choice((0, 1, 1, 2))
        self.clock = PatientClock.declared_zone(rng.choice(HOME_ZONES), sends_utc=False)
        self.clock.declared = None  # most patients declare nothing: the offset speaks
        self.hour = rng.uniform(7.0, 20.0)
        self.rpe = float(rng.choice((3, 4, 5, 6)))
        self.attendance = 0.97
        self.budget_min: int | None = None
        self.access: list[str] = []
        # Some compliant patients were cleared by a clinician at once (DOMAIN.md, December:
        # a clearance never lifts the early phase or the quiet weeks).
        self.cleared_at_start = rng.random() < 0.3
        self.high_impact_day = rng.randint(60, 90) if rng.random() < 0.5 else None

    # --- the start --------------------------------------------------------------------
    def baseline(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "walk_min": float(self.rng.choice((10, 20, 30, 40))),
            "plank_s": float(self.rng.choice((10, 20, 30, 45))),
            "pain_at_rest": self.usual_pain,
            "flexibility": self.rng.choice(("poor", "fair", "good")),
            "contraindications": [],
        }
        if self.clock.declared is not None:
            payload["time_zone"] = self.clock.declared
        if self.access:
            payload["access"] = list(self.access)
        if self.budget_min is not None:
            payload["session_budget_min"] = self.budget_min
        return payload

    def goal(self) -> dict[str, Any]:
        return {"goal_id": "g1", "metric": "sessions_per_week", "target": 3.0, "period": "week"}

    # --- days ---------------------------------------------------------------------------
    def happenings(self, day: int) -> list[Happening]:
        out: list[Happening] = []
        if day == 0 and self.cleared_at_start:
            out.append(_clearance(("running", "loaded_twisting"), time(7, 0)))
        if day == self.high_impact_day:
            out.append(_clearance(("high_impact",), time(7, 30)))
        return out

    def attends(self, day: int, planned: str) -> bool:
        return self.rng.random() < self.attendance

    def session_time(self, day: int) -> time:
        minutes = int(self.hour * 60 + self.rng.uniform(-45, 45))
        minutes = min(max(minutes, 6 * 60), 21 * 60)
        return time(minutes // 60, minutes % 60)

    # --- a session ----------------------------------------------------------------------
    def perform(self, rx: Prescription, day: int) -> dict[str, Any]:
        """The workout entry for one prescription: here exactly the dose."""
        return entry_at_dose(rx, self.rpe)

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        during = self.rng.choice((0, 1, 1, 2))
        morning = min(10, self.usual_pain + self.rng.choice((0, 0, 1)))
        return [Report(during, "during"), Report(morning, "next_morning")]


def _clearance(scopes: tuple[str, ...], at: time, note: str = "") -> Happening:
    payload: dict[str, Any] = {"clinician": "Dr Sim", "scopes": list(scopes)}
    if note:
        payload["note"] = note
    return Happening("clearance.recorded", payload, at, clinician=True)


def entry_at_dose(rx: Prescription, rpe: float, **change: float) -> dict[str, Any]:
    d = rx.dose
    sets: list[dict[str, Any]] = []
    for _ in range(d.sets or 1):
        s: dict[str, Any] = {}
        if d.reps is not None:
            s["reps"] = int(change.get("reps", d.reps))
        if d.hold_s is not None:
            s["hold_s"] = float(d.hold_s)
        if d.load_kg is not None:
            s["load_kg"] = float(change.get("load_kg", d.load_kg))
        if d.interval is not None:
            iv = d.interval
            s["duration_min"] = (iv.hard_min + iv.easy_min) * iv.rounds
        elif d.duration_min is not None:
            s["duration_min"] = float(change.get("duration_min", d.duration_min))
        sets.append(s)
    return {
        "exercise": rx.exercise,
        "kind": KINDS[rx.block],
        "sets": sets,
        "completed": True,
        "stopped_for_pain": False,
        "rpe": rpe,
    }


class TolerableAmber(Patient):
    """Pain 3-5 during, back to the usual level by the next morning (D9)."""

    model = "tolerable_amber"

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        return [
            Report(self.rng.randint(3, 5), "during"),
            Report(self.usual_pain + self.rng.choice((0, 1)), "next_morning"),
        ]


class UnsettledAmber(Patient):
    """Pain 3-5 during that is still above usual + 1 the next morning, or never reported."""

    model = "unsettled_amber"

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        out = [Report(self.rng.randint(3, 5), "during")]
        if self.rng.random() < 0.7:
            out.append(Report(min(10, self.usual_pain + self.rng.randint(2, 3)), "next_morning"))
        return out


class RedOnOneExercise(Patient):
    """Green, but one strength exercise hurts sharply now and then; it is stopped for pain.
    Half the reports come 7 hours later naming the exercise and no session (D21)."""

    model = "red_on_one_exercise"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.sore = rng.choice(("squat", "calf_raise", "chest_press"))
        self.hurts_today = False
        self.reports_late = False

    def perform(self, rx: Prescription, day: int) -> dict[str, Any]:
        out = entry_at_dose(rx, self.rpe)
        # Reported at once, the exercise was stopped; reported hours later, it was finished.
        if rx.exercise == self.sore and self.hurts_today and not self.reports_late:
            out["completed"] = False
            out["stopped_for_pain"] = True
            out["sets"] = out["sets"][:1]
        return out

    def attends(self, day: int, planned: str) -> bool:
        self.hurts_today = self.rng.random() < 0.12
        self.reports_late = self.rng.random() < 0.5
        return super().attends(day, planned)

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        out = super().pain(day, done)
        if self.hurts_today and any(rx.exercise == self.sore for rx in done):
            late = self.reports_late
            out.append(
                Report(
                    self.rng.randint(6, 8),
                    "during",
                    exercise=self.sore,
                    names_session=not late,
                    after=timedelta(hours=7) if late else None,
                )
            )
        return out


class LastingPain(Patient):
    """Green during, but after some sessions pain still there 24 hours later: at usual + 2 or
    more (R2 by D12), or at usual + 1 (the person's everyday pain: R2 must not fire); now and
    then a flare the patient puts down to strength work (D13)."""

    model = "pain_24h"

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        out = super().pain(day, done)
        roll = self.rng.random()
        if roll < 0.04 and any(rx.block == "strength" for rx in done):
            flare = {"flare_up_cause": "strength"}
            out.append(Report(min(10, self.usual_pain + 3), "24h_after", extra=flare))
        elif roll < 0.15:
            out.append(Report(min(10, self.usual_pain + self.rng.randint(2, 3)), "24h_after"))
        elif roll < 0.3:
            out.append(Report(self.usual_pain + 1, "24h_after"))
        return out


class CoreFlare(Patient):
    """Green, until core work causes a flare-up; a clinician clears core two or three weeks later."""

    model = "core_flare"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.flare_day = rng.randint(30, 60)
        self.clear_day = self.flare_day + rng.randint(14, 21)
        self.flared = False

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        out = super().pain(day, done)
        if day >= self.flare_day and not self.flared and any(r.block == "core" for r in done):
            self.flared = True
            out.append(
                Report(
                    min(10, self.usual_pain + 3),
                    "24h_after",
                    extra={"flare_up_cause": "core"},
                )
            )
        return out

    def happenings(self, day: int) -> list[Happening]:
        out = super().happenings(day)
        if self.flared and day == self.clear_day:
            out.append(_clearance(("core",), time(7, 45), "core flare reviewed"))
        return out


class RisingTrend(Patient):
    """Every 10 weeks, pain that rises week on week: 2/10 during, then 4 and 5 with the next
    morning 2 above usual (the 7-day mean 2 or more points above the week before: R4), then it
    eases."""

    model = "rising_trend"

    def pain(self, day: int, done: list[Prescription]) -> list[Report]:
        phase = day % 70
        u = self.usual_pain
        if 28 <= phase < 35:
            during, morning = 2, u
        elif 35 <= phase < 42:
            during, morning = 4, u + 2
        elif 42 <= phase < 49:
            during, morning = 5, u + 2
        elif 49 <= phase < 56:
            during, morning = 2, u + 1
        else:
            during, morning = self.rng.choice((0, 1)), u
        return [Report(during, "during"), Report(min(10, morning), "next_morning")]


class RedFlags(Patient):
    """Green; then an emergency red flag, an unrelated clearance (it must not resume), a review;
    later an urgent red flag and its review."""

    model = "red_flags"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.emergency_day = rng.randint(20, 40)
        self.urgent_day = self.emergency_day + rng.randint(50, 80)
        self.cleared_at_start = False

    def happenings(self, day: int) -> list[Happening]:
        out = super().happenings(day)
        e, u = self.emergency_day, self.urgent_day
        if day == e:
            out.append(_red_flag(("saddle_numbness",), self.usual_pain + 2))
        elif day == e + 2:
            out.append(_clearance(("high_impact",), time(9, 0)))
        elif day == e + 14:
            out.append(_clearance(("red_flag_reviewed",), time(9, 0), "cauda equina ruled out"))
        elif day == u:
            out.append(_red_flag(("fever",), self.usual_pain + 2))
        elif day == u + 21:
            out.append(_clearance(("red_flag_reviewed",), time(9, 0), "infection treated"))
        return out


def _red_flag(flags: tuple[str, ...], score: int) -> Happening:
    return Happening(
        "pain.reported",
        {
            "score": min(10, score),
            "timing": "rest",
            "location": "lower back",
            "red_flags": list(flags),
        },
        time(6, 30),
    )


class Irregular(Patient):
    """Misses a quarter of planned days and takes breaks of 2-4 weeks every 6-10 weeks."""

    model = "irregular"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.attendance = 0.75
        self.breaks: list[range] = []
        day = rng.randint(35, 70)
        while day < weeks * 7:
            length = rng.randint(14, 28)
            self.breaks.append(range(day, day + length))
            day += length + rng.randint(42, 70)

    def attends(self, day: int, planned: str) -> bool:
        if any(day in b for b in self.breaks):
            return False
        return super().attends(day, planned)

    def happenings(self, day: int) -> list[Happening]:
        out = super().happenings(day)
        if not any(day in b for b in self.breaks) and self.rng.random() < 0.1:
            out.append(
                Happening(
                    "recovery.logged", {"kind": "light_walk", "duration_min": 20.0}, time(12, 0)
                )
            )
        return out


class OverAchiever(Patient):
    """Does more than prescribed: 1.5x the load, 15 reps of strength work, 30 % longer cardio."""

    model = "over_achiever"

    def perform(self, rx: Prescription, day: int) -> dict[str, Any]:
        d = rx.dose
        change: dict[str, float] = {}
        if rx.block == "strength" and d.reps is not None:
            change["reps"] = 15
        if d.load_kg:
            change["load_kg"] = round(d.load_kg * 1.5 * 2) / 2
        if rx.block == "cardio" and d.duration_min is not None:
            change["duration_min"] = round(d.duration_min * 1.3 * 2) / 2
        return entry_at_dose(rx, self.rpe, **change)


class FarTimeZone(Patient):
    """Lives at +13:00 or -10:00, declares its zone, trains near midnight; the app writes UTC."""

    model = "time_zone"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.clock = PatientClock.declared_zone(
            rng.choice(("Pacific/Tongatapu", "Pacific/Honolulu")), sends_utc=True
        )

    def session_time(self, day: int) -> time:
        if self.rng.random() < 0.5:
            return time(23, self.rng.randint(5, 55))
        return time(0, self.rng.randint(5, 55))


class PoolUser(Patient):
    """Declares a pool (`access: ["pool"]`, D19) and a 75-minute session budget (D11)."""

    model = "pool_user"

    def __init__(self, rng: random.Random, weeks: int) -> None:
        super().__init__(rng, weeks)
        self.access = ["pool"]
        self.budget_min = 75


MODELS: tuple[type[Patient], ...] = (
    Patient,
    TolerableAmber,
    UnsettledAmber,
    RedOnOneExercise,
    LastingPain,
    CoreFlare,
    RisingTrend,
    RedFlags,
    Irregular,
    OverAchiever,
    FarTimeZone,
    PoolUser,
)
MODEL_NAMES = {m.model: m for m in MODELS}


def first_day(rng: random.Random) -> date:
    return date(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
