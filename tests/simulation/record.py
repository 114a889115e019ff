"""What the simulated patient actually did and reported: the evidence the invariants judge by.

The planner keeps its own account of the history; the simulator keeps this one, in the
patient's true local calendar, so a planner that misreads the calendar or the pain is caught.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from planner.domain.routine import Prescription

Key = tuple[str, str]  # (block, exercise)

GREEN_MAX = 2  # pain zones of DOMAIN.md (B1)
AMBER_MAX = 5
DURING = ("during", "after")


def zone(score: int) -> str:
    return "green" if score <= GREEN_MAX else "amber" if score <= AMBER_MAX else "red"


@dataclass
class Done:
    """One exercise of one session, against what was prescribed."""

    rx: Prescription
    at_dose: bool  # completed, at least the prescribed dose
    above: bool  # logged above the prescription (D15)
    stopped: bool  # stopped for pain


@dataclass
class PainReport:
    event_id: str
    at: datetime
    day: date
    score: int
    timing: str
    session_id: str | None  # the session it is about (even when the payload names none)
    exercise: str | None
    flare_cause: str | None = None
    red_flags: tuple[str, ...] = ()


@dataclass
class SessionRecord:
    session_id: str
    event_id: str
    at: datetime
    day: date
    planned_kind: str  # "full" | "light" | "off-plan"
    done: dict[Key, Done]
    prescribed_minutes: float  # D11's estimate of what was prescribed and done
    rpe: float
    pain: list[PainReport] = field(default_factory=list)  # reports about this session

    @property
    def hard(self) -> bool:
        return any(k[0] in ("strength", "core") for k in self.done)

    @property
    def prescribed_load(self) -> float:
        return self.rpe * self.prescribed_minutes  # D8: RPE x minutes

    def during_max(self, exercise: str | None = None) -> int | None:
        scores = [
            p.score
            for p in self.pain
            if p.timing in DURING and (exercise is None or p.exercise in (None, exercise))
        ]
        return max(scores) if scores else None

    def next_morning(self) -> int | None:
        scores = [p.score for p in self.pain if p.timing == "next_morning"]
        return max(scores) if scores else None

    def lasting(self) -> int | None:
        scores = [p.score for p in self.pain if p.timing == "24h_after"]
        return max(scores) if scores else None


@dataclass
class Record:
    start: datetime
    usual_pain: int
    sessions: list[SessionRecord] = field(default_factory=list)
    pain: list[PainReport] = field(default_factory=list)
    clearances: list[tuple[datetime, tuple[str, ...], str]] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    events_at: dict[str, datetime] = field(default_factory=dict)
    _session_times: list[datetime] = field(default_factory=list)
    _exercise_pain: list[PainReport] = field(default_factory=list)
    _exercise_pain_times: list[datetime] = field(default_factory=list)

    def session(self, session_id: str | None) -> SessionRecord | None:
        for s in reversed(self.sessions):
            if s.session_id == session_id:
                return s
        return None

    def add_session(self, session: SessionRecord) -> None:
        self.sessions.append(session)
        self._session_times.append(session.at)

    def add_pain(self, report: PainReport) -> None:
        self.pain.append(report)
        if report.timing in DURING or report.flare_cause is not None:
            self._exercise_pain.append(report)
            self._exercise_pain_times.append(report.at)

    def sessions_between(self, start: datetime, end: datetime) -> list[SessionRecord]:
        """Sessions in (start, end]; both lists grow in time order, as events are sent."""
        times = self._session_times
        return self.sessions[bisect_right(times, start) : bisect_right(times, end)]

    def exercise_pain_between(self, start: datetime, end: datetime) -> list[PainReport]:
        """Pain during exercise (the zones apply to it), and declared flares, in (start, end]."""
        times = self._exercise_pain_times
        return self._exercise_pain[bisect_right(times, start) : bisect_right(times, end)]

    def quiet_evidence_weeks(self, at: datetime, weeks: int, above: int, zone: tzinfo) -> bool:
        """DOMAIN.md, December: N weeks without pain above `above` count only weeks with at
        least 2 logged sessions (silence is not pain-free). A week is either the 7 days ending
        at `at` and the 7-day windows before it, or a local calendar week (Monday first): the N
        whole weeks before this one, and no such pain so far this week. Either reading passes,
        so the check never asks more than DOMAIN.md does."""
        sliding = [
            (at - timedelta(days=7 * (k + 1)), at - timedelta(days=7 * k)) for k in range(weeks)
        ]
        if all(self._quiet_week(start, end, above) for start, end in sliding):
            return True
        today = at.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        this_week = datetime.combine(monday, time(0), tzinfo=zone)
        if self._painful(this_week - timedelta(microseconds=1), at, above):
            return False
        calendar = [
            (this_week - timedelta(days=7 * (k + 1)), this_week - timedelta(days=7 * k))
            for k in range(weeks)
        ]
        return all(self._quiet_week(start, end, above) for start, end in calendar)

    def _quiet_week(self, start: datetime, end: datetime, above: int) -> bool:
        return len(self.sessions_between(start, end)) >= 2 and not self._painful(start, end, above)

    def _painful(self, start: datetime, end: datetime, above: int) -> bool:
        return any(p.score > above or p.flare_cause for p in self.exercise_pain_between(start, end))

    def pain_above_green_in_last_week(self, at: datetime) -> bool:
        return any(
            p.score > GREEN_MAX or p.flare_cause
            for p in self.exercise_pain_between(at - timedelta(days=7), at)
        )

    def cleared(self, scope: str, by: datetime) -> bool:
        return any(scope in scopes and when <= by for when, scopes, _ in self.clearances)
