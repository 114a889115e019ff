"""One simulated patient: day by day it reads its routine, trains on the planned days, sends its
events to the pure planner domain (through the incremental fold) and has every routine checked.
"""

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from planner.domain.history import LoggedEvent
from planner.domain.incremental import IncrementalFold
from planner.domain.output import build_routine
from planner.domain.routine import Prescription, Routine
from tests.simulation import doses
from tests.simulation.checks import INSTANT_CHECKS, MOMENT_CHECKS, STEP_CHECKS
from tests.simulation.events import CLINICIAN, EventWriter
from tests.simulation.moment import Memory, Moment, PendingStep
from tests.simulation.patients import Patient, Report, first_day
from tests.simulation.record import Done, PainReport, Record, SessionRecord

EXAMPLES_KEPT = 3
MILESTONES = ("first_load", "plank_60s", "cardio_30min", "running", "cardio_150_week")


@dataclass
class PatientResult:
    model: str
    seed: int
    weeks: int
    violations: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    sessions: int = 0
    full_session_minutes: list[float] = field(default_factory=list)
    prescribed_minutes: float = 0.0
    step_ups_per_session: list[int] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)  # milestone -> day first reached
    off_plan_days: int = 0
    events: int = 0
    acwr_skipped: int = 0
    refolds: int = 0
    probes: int = 0


@dataclass(order=True)
class _Queued:
    at: datetime
    order: int
    kind: str = field(compare=False)  # "event" | "session"
    data: Any = field(compare=False)


class Simulation:
    def __init__(self, patient: Patient, seed: int, start: date) -> None:
        self.patient = patient
        self.seed = seed
        self.start_day = start
        self.user_id = f"{patient.model}-{seed}"
        self.writer = EventWriter(self.user_id)
        self.fold: IncrementalFold | None = None
        self.routine: Routine | None = None
        self.memory = Memory()
        self.record: Record | None = None
        self.result = PatientResult(patient.model, seed, patient.weeks)
        self._queue: list[_Queued] = []
        self.history: list[LoggedEvent] = []
        self._order = itertools.count()
        self._sessions = itertools.count(1)
        self._ups_at: dict[str, int] = {}  # a session's workout event -> its step-up count

    # --- time -----------------------------------------------------------------------------
    def instant(self, day: int, at: time) -> datetime:
        return self.patient.clock.instant(self.start_day + timedelta(days=day), at)

    def push(self, at: datetime, kind: str, data: Any) -> None:
        heapq.heappush(self._queue, _Queued(at, next(self._order), kind, data))

    # --- the run --------------------------------------------------------------------------
    def run(self) -> PatientResult:
        p = self.patient
        self.push(
            self.instant(0, time(6, 0)), "event", ("baseline.assessed", p.baseline(), None, None)
        )
        self.push(self.instant(0, time(6, 1)), "event", ("goal.set", p.goal(), None, None))
        for day in range(p.weeks * 7):
            for h in p.happenings(day):
                source = CLINICIAN if h.clinician else None
                self.push(self.instant(day, h.at), "event", (h.type, h.payload, source, None))
            self.push(self.instant(day, p.session_time(day)), "session", day)
            end = self.instant(day + 1, time(0, 0))
            # A session in the hour after midnight belongs to its own day; nothing else spills.
            while self._queue and self._queue[0].at < end:
                item = heapq.heappop(self._queue)
                if item.kind == "session":
                    self._session(item.data, item.at)
                else:
                    self._send(item.at, *item.data)
        self.result.acwr_skipped = self.memory.acwr_skipped
        return self.result

    def _send(
        self,
        at: datetime,
        type_: str,
        payload: dict[str, Any],
        source: dict[str, Any] | None,
        about: SessionRecord | None,
    ) -> LoggedEvent:
        event = self.writer.event(type_, payload, at, source)
        if self.fold is None:
            self.fold = IncrementalFold(at)
            self.record = Record(start=at, usual_pain=self.patient.usual_pain)
        assert self.record is not None
        self.record.event_ids.add(event.event_id)
        self.record.events_at[event.event_id] = at
        if type_ == "pain.reported":
            self._note_pain(event, about)
        elif type_ == "clearance.recorded":
            self.record.clearances.append((at, tuple(payload["scopes"]), event.event_id))
        self._take(event)
        self._check(event, self._routine_now(), None)
        return event

    def _take(self, event: LoggedEvent) -> None:
        assert self.fold is not None
        self.history.append(event)
        if not self.fold.take(event):  # out of order: fold the whole history again
            self.fold = IncrementalFold.of(self.history, event.occurred_at)
            self.result.refolds += 1

    def _routine_now(self) -> Routine:
        assert self.fold is not None
        return self.fold.routine()

    def _note_pain(self, event: LoggedEvent, about: SessionRecord | None) -> None:
        assert self.record is not None
        p = event.payload
        report = PainReport(
            event.event_id,
            event.occurred_at,
            self.patient.clock.local_day(event.occurred_at),
            int(p["score"]),
            str(p["timing"]),
            None if about is None else about.session_id,
            p.get("exercise"),
            p.get("flare_up_cause"),
            tuple(p.get("red_flags") or ()),
        )
        self.record.add_pain(report)
        if about is not None:
            about.pain.append(report)
        if report.red_flags:
            self.memory.red_flag_since = self.memory.red_flag_since or event.occurred_at
        last = self.record.sessions[-1] if self.record.sessions else None
        if (
            report.timing == "24h_after"
            and about is not None
            and about is last
            and (report.score >= self.record.usual_pain + 2 or report.score > 5)
        ):
            self.memory.r2_pending = event.event_id

    def _count_later_ups(self, m: Moment) -> None:
        """D9 steps on the next-morning report that shows a session's amber settled: each
        counts for the session that earned it, the latest workout among its causes."""
        for c in m.ups():
            earned = [self._ups_at[e] for e in c.caused_by if e in self._ups_at]
            if earned:
                self.result.step_ups_per_session[max(earned)] += 1

    # --- a planned day --------------------------------------------------------------------
    def _session(self, day: int, at: datetime) -> None:
        """The patient opens its routine at the time it would train, and trains if today is a
        planned day and it attends."""
        if self.fold is None or self.record is None:
            return
        routine = self._routine_at(at)
        self._check_instant(routine, at)
        if routine.status != "active":
            return
        local = self.start_day + timedelta(days=day)
        kind, on_plan = self._planned(routine, local)
        if kind == "rest" or not self.patient.attends(day, kind):
            return
        todo = self._due(routine, local, kind)
        if not todo:
            return
        p = self.patient
        sid = f"{self.user_id}-s{next(self._sessions)}"
        entries = [p.perform(rx, day) for rx in todo]
        reports = p.pain(day, todo)
        session = SessionRecord(
            session_id=sid,
            event_id="",
            at=at,
            day=local,
            planned_kind=kind if on_plan else "off-plan",
            done={
                (rx.block, rx.exercise): _done(rx, e) for rx, e in zip(todo, entries, strict=True)
            },
            prescribed_minutes=doses.session_minutes(todo),
            rpe=p.rpe,
        )
        tick = timedelta(seconds=1)
        for i, r in enumerate(x for x in reports if x.timing == "during" and x.after is None):
            self._send(at + tick * (i + 1), "pain.reported", _pain(r, sid), None, session)
        self.record.add_session(session)
        done_minutes = doses.session_minutes(
            [_as_done(rx, e) for rx, e in zip(todo, entries, strict=True)]
        )
        payload = {"session_id": sid, "duration_min": round(done_minutes, 1), "exercises": entries}
        event = self._send_workout(at + tick * 30, payload, session)
        session.event_id = event.event_id
        for r in reports:
            if r.timing == "during" and r.after is None:
                continue
            self.push(self._when(r, at), "event", ("pain.reported", _pain(r, sid), None, session))

    def _send_workout(
        self, at: datetime, payload: dict[str, Any], session: SessionRecord
    ) -> LoggedEvent:
        # The checks of this moment need the session: _check receives it.
        assert self.fold is not None and self.record is not None
        event = self.writer.event("workout.logged", payload, at)
        session.event_id = event.event_id
        self.record.event_ids.add(event.event_id)
        self.record.events_at[event.event_id] = at
        self._take(event)
        self._check(event, self._routine_now(), session)
        return event

    def _when(self, r: Report, at: datetime) -> datetime:
        if r.after is not None:
            return at + r.after
        if r.timing == "24h_after":
            return at + timedelta(hours=24)
        if r.timing == "next_morning":
            local = at.astimezone(self.patient.clock.zone) + timedelta(hours=4)
            day = local.date() if local.time() <= time(8, 0) else local.date() + timedelta(days=1)
            return self.patient.clock.instant(day, time(8, 0))
        return at + timedelta(minutes=5)

    def _planned(self, routine: Routine, local: date) -> tuple[str, bool]:
        """What kind of day the routine plans today, and whether its weekly plan says so."""
        for d in routine.weekly_plan.get("days") or []:
            if d.get("date") == local.isoformat():
                return str(d.get("day")), True
        # The plan does not reach today (it was computed at an earlier instant): the patient
        # trains hard when the last hard day is two days back, else lightly.
        self.result.off_plan_days += 1
        assert self.record is not None
        last_hard = next((s.day for s in reversed(self.record.sessions) if s.hard), None)
        hard = last_hard is None or (local - last_hard).days >= 2
        return ("full" if hard else "light"), False

    def _due(self, routine: Routine, local: date, kind: str) -> list[Prescription]:
        listed = next(
            (
                d.get("exercises")
                for d in routine.weekly_plan.get("days") or []
                if d.get("date") == local.isoformat()
            ),
            None,
        )
        blocks = doses.FULL_DAY_BLOCKS if kind == "full" else doses.LIGHT_DAY_BLOCKS
        out = []
        for b in routine.blocks:
            for rx in b.prescriptions:
                if listed is not None:
                    if f"{rx.block}:{rx.exercise}" in listed:
                        out.append(rx)
                elif rx.block in blocks:
                    out.append(rx)
        return out

    def _routine_at(self, as_of: datetime) -> Routine:
        """The routine as an app opening it at `as_of` sees it (December: time-dependent output
        is computed at the instant asked). The incremental fold has no as-of read of its own
        yet, so its state is built at `as_of` as derive_routine builds it (a test holds the two
        equal)."""
        assert self.fold is not None
        read = getattr(self.fold, "routine_at", None)
        if read is not None:
            return read(as_of)
        return build_routine(self.fold._state, as_of)

    def _check_instant(self, routine: Routine, as_of: datetime) -> None:
        assert self.record is not None
        self.result.probes += 1
        for name, (_, check) in INSTANT_CHECKS.items():
            for finding in check(routine, as_of, self.record, self.patient):
                self._violation(name, f"day {(as_of - self.record.start).days}: {finding}")

    # --- the checks -----------------------------------------------------------------------
    def _check(self, event: LoggedEvent, routine: Routine, session: SessionRecord | None) -> None:
        assert self.record is not None
        previous = self.routine
        new = routine.changes[len(previous.changes) :] if previous is not None else routine.changes
        if event.type == "clearance.recorded" and "red_flag_reviewed" in event.payload.get(
            "scopes", ()
        ):
            self.memory.red_flag_since = None
        m = Moment(
            event, routine, previous, tuple(new), self.record, self.patient, self.memory, session
        )
        if session is not None:
            self._judge_pending_steps()
        for name, (_, check) in MOMENT_CHECKS.items():
            for finding in check(m):
                self._violation(
                    name, f"day {(event.occurred_at - self.record.start).days}: {finding}"
                )
        self._remember(m)
        self.routine = routine
        self.result.events += 1

    def _judge_pending_steps(self) -> None:
        assert self.record is not None
        for step in self.memory.pending:
            undone = self.memory.last_down.get(step.key)
            if undone is not None and undone >= step.change.at:
                continue
            for name, (_, check) in STEP_CHECKS.items():
                for finding in check(step, self.record, self.patient):
                    self._violation(
                        name, f"day {(step.change.at - self.record.start).days}: {finding}"
                    )
        self.memory.pending = []

    def _violation(self, name: str, finding: str) -> None:
        self.result.violations[name] += 1
        kept = self.result.examples.setdefault(name, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(finding)

    def _remember(self, m: Moment) -> None:
        mem = self.memory
        if m.session is not None and m.ups():
            mem.last_stepping = set()
        for c in m.new_changes:
            if c.exercise is None:
                continue
            key = (c.block or "", c.exercise)
            if c.direction == "up" and m.session is not None:
                mem.last_stepping.add(key)
            elif c.direction not in ("deload", "restore"):
                mem.last_stepping.discard(key)
            if c.direction == "up" and m.session is not None:
                mem.pending.append(
                    PendingStep(
                        c,
                        m.session,
                        key,
                        mem.last_dose_change.get(key),
                        mem.last_up.get(key) or mem.added_at.get(key),
                    )
                )
            if c.direction == "up":
                mem.last_up[key] = c.at
            if c.direction == "add":
                mem.added_at[key] = c.at
            if c.direction in ("down", "revert", "remove"):
                mem.last_down[key] = c.at
            if c.direction not in ("deload", "restore"):
                mem.last_dose_change[key] = c.at
        if m.session is None:
            self._count_later_ups(m)
        else:
            mem.r2_pending = None
            self._ups_at[m.session.event_id] = len(self.result.step_ups_per_session)
            self.result.step_ups_per_session.append(len({c.exercise for c in m.ups()}))
            self.result.sessions += 1
            self.result.prescribed_minutes += m.session.prescribed_minutes
            if m.session.hard:
                self.result.full_session_minutes.append(m.session.prescribed_minutes)
        if m.active and m.previous is not None and m.previous.status != "active":
            # the pause lasted until this moment, not until the last event seen while paused
            mem.resumed_at = m.at
        if m.active:
            mem.last_active = m.routine
            for rx in m.prescriptions():
                mem.ever_present.add(rx.exercise)
            self._milestones(m)

    def _milestones(self, m: Moment) -> None:
        day = (m.at - m.record.start).days
        rxs = m.prescriptions()
        reached = {
            "first_load": any(rx.block == "strength" and rx.dose.load_kg for rx in rxs),
            "plank_60s": any(rx.exercise == "plank" and (rx.dose.hold_s or 0) >= 60 for rx in rxs),
            "cardio_30min": any(
                rx.block == "cardio" and doses.minutes_of(rx.dose) >= 30 for rx in rxs
            ),
            "running": any(
                rx.exercise in ("steady_run", "intervals", "hill_sprints") for rx in rxs
            ),
            "cardio_150_week": doses.weekly_cardio_minutes(m.routine) >= 150,
        }
        for name, yes in reached.items():
            if yes:
                self.result.reached.setdefault(name, day)


def _done(rx: Prescription, entry: dict[str, Any]) -> Done:
    d = rx.dose
    sets = entry.get("sets") or []
    at_dose = bool(entry.get("completed")) and len(sets) >= (d.sets or 1)
    above = False
    for s in sets:
        if d.reps is not None and s.get("reps", d.reps) < d.reps:
            at_dose = False
        if d.load_kg is not None and s.get("load_kg", d.load_kg) < d.load_kg:
            at_dose = False
        limit = doses.STRENGTH_REPS[1] if rx.block == "strength" else doses.CORE_REPS[1]
        if d.reps is not None and s.get("reps", 0) > limit:
            above = True
        if d.load_kg and s.get("load_kg", 0) > d.load_kg * 1.1 + 1e-9:
            above = True
        if d.duration_min and s.get("duration_min", 0) > d.duration_min * 1.2 + 1e-9:
            above = True
    return Done(rx, at_dose, above, bool(entry.get("stopped_for_pain")))


def _as_done(rx: Prescription, entry: dict[str, Any]) -> Prescription:
    """The prescription as the patient actually did it, for the logged session length."""
    from dataclasses import replace

    sets = entry.get("sets") or [{}]
    s = sets[0]
    dose = replace(
        rx.dose,
        sets=len(sets),
        reps=s.get("reps", rx.dose.reps),
        duration_min=s.get("duration_min", rx.dose.duration_min)
        if rx.dose.interval is None
        else None,
    )
    return replace(rx, dose=dose)


def _pain(r: Report, session_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "score": r.score,
        "timing": r.timing,
        "location": "lower back",
        "red_flags": [],
        **r.extra,
    }
    if r.names_session:
        payload["session_id"] = session_id
    if r.exercise is not None:
        payload["exercise"] = r.exercise
    return payload


def simulate(model: type[Patient], seed: int, weeks: int) -> PatientResult:
    rng = random.Random(f"{model.model}/{seed}")
    patient = model(rng, weeks)
    return Simulation(patient, seed, first_day(rng)).run()
