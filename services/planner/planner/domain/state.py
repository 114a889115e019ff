"""The working state of one derivation: local to `derive_routine`, never shared between calls.

It is mutable on purpose (a fold over thousands of events), and it is the only mutable thing:
rules read it and record every change through `State.change`, so no change goes unexplained.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from planner.domain.exercises import EXERCISES, FORM_CUES, Exercise
from planner.domain.history import LoggedEvent
from planner.domain.ladder import lighter
from planner.domain.routine import Change, Dose, HeldOut, Hold, Prescription
from planner.domain.windows import TimeOrdered, load_at

Key = tuple[str, str]  # (block, exercise)


# Changes that leave the last step-up standing: the lighter week only lays a lighter dose over
# it for seven days (B3), and the end of that week puts the step back.
OVERLAYS = ("deload", "restore")


@dataclass(frozen=True)
class Why:
    """This rule, for this reason, because of these events, at this instant: every change's cause."""

    rule: str
    reason: str
    causes: tuple[str, ...]
    at: datetime  # occurred_at of the event that caused it, never a wall clock


@dataclass(frozen=True)
class Pause:
    """R6: the routine is paused by a red flag until a clinician has reviewed it."""

    reason: str
    tier: str  # "emergency" | "urgent" (B2)
    causes: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Flare:
    """D6: a flare-up, and the kind of work it was attributed to ("" when unknown)."""

    at: datetime
    cause: str
    event_id: str


@dataclass(frozen=True)
class Clearance:
    """A clinician's clearance: the scopes it names."""

    at: datetime
    scopes: tuple[str, ...]
    event_id: str


@dataclass(frozen=True)
class CoreFlare:
    """R3: core work caused a flare-up; core stays out until a clearance names it."""

    at: datetime
    causes: tuple[str, ...]


@dataclass(frozen=True)
class StepUp:
    """The last step-up of a track, for as long as it stands and can be undone (R4, R5, B1)."""

    before: Prescription  # what it replaced
    sessions: tuple[str, ...]  # the session ids that earned it
    at: datetime


@dataclass
class Track:
    """One prescription and the facts the pace and pain rules need about it."""

    rx: Prescription
    clean_sessions: list[str] = field(default_factory=list)  # workout event ids at the current dose
    frozen_clean_needed: int = 0  # R1: pain-free sessions still needed before it may progress
    step: StepUp | None = None  # set by a step-up; any change but an overlay replaces it
    hold: Hold | None = None

    @property
    def ex(self) -> Exercise:
        return EXERCISES[self.rx.exercise]

    @property
    def key(self) -> Key:
        return (self.rx.block, self.rx.exercise)


@dataclass
class Session:
    session_id: str
    event: LoggedEvent
    day: date
    entries: dict[Key, Mapping[str, Any]]
    doses: dict[Key, Prescription]  # what was prescribed when it was done
    disqualified: set[Key] = field(default_factory=set)  # amber or worse: it proves nothing
    red: set[Key] = field(default_factory=set)  # R1 already applied
    eased: bool = False  # R2 already applied
    amber: set[Key] = field(default_factory=set)  # R5: amber during, tolerable if it settles (D9)
    settled: bool = False  # D9: the next-morning report was back at the usual level
    # reports naming this session that came before its workout was logged (during it)
    reported_before: frozenset[str] = frozenset()
    lighter: frozenset[Key] = frozenset()  # B3: done in the lighter week's form
    # D15: what it did beyond the dose in front of the person, once asked (it never changes)
    over_plan: list[str] | None = None


@dataclass
class PainPoint:
    at: datetime
    score: int
    timing: str
    event_id: str


def _at(item: "PainPoint | Flare") -> datetime:
    return item.at


def _session_at(session: "Session") -> datetime:
    return session.event.occurred_at


@dataclass
class State:
    tracks: dict[Key, Track] = field(default_factory=dict)
    held_out: dict[Key, HeldOut] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    session_order: list[str] = field(default_factory=list)
    pending_pain: dict[str, list[LoggedEvent]] = field(default_factory=dict)
    pain: TimeOrdered[PainPoint] = field(default_factory=lambda: TimeOrdered(_at))
    changes: list[Change] = field(default_factory=list)
    started_at: datetime | None = None
    start_event_id: str | None = None
    baseline_event_id: str | None = None
    baseline: Mapping[str, Any] | None = None
    zone: tzinfo | None = None  # finding 9: the declared time zone wins over the offset
    usual_pain: int = 0
    paused: Pause | None = None
    clearances: list[Clearance] = field(default_factory=list)
    no_progress_next_session: tuple[str, ...] | None = None  # R2: causes
    flares: TimeOrdered[Flare] = field(default_factory=lambda: TimeOrdered(_at))
    loads: TimeOrdered[tuple[datetime, float]] = field(  # B4 / D8
        default_factory=lambda: TimeOrdered(load_at)
    )
    # The sessions in the order logged (session_order's), for windows of them by time; a
    # session id logged twice makes it out of order, and its windows scan session_order.
    logged: TimeOrdered["Session"] = field(default_factory=lambda: TimeOrdered(_session_at))
    rest_pain_total: int = 0  # the rest reports' scores so far: the usual level without a baseline
    rest_pain_count: int = 0
    # D10: how far the scan of `changes` for the last step-up got: (changes read, the latest of
    # their instants, last step-up, time paused since, paused since); the fold only appends.
    since_last_step: tuple[int, datetime, datetime, timedelta, datetime | None] | None = None
    goals: dict[str, tuple[Mapping[str, Any], LoggedEvent]] = field(default_factory=dict)
    last_introduction_at: datetime | None = None
    r4_reverted_at: datetime | None = None
    epoch_start: datetime | None = None  # B3: start of uninterrupted progression
    steps_in_epoch: int = 0
    deload_from: date | None = None
    deload_until: date | None = None
    deload_causes: tuple[str, ...] = ()
    last_event: LoggedEvent | None = None
    steps_this_event: int = 0
    break_steps_taken: int = 0  # D14: steps down a pause's review already took for the break
    b4_guarded_at: datetime | None = None  # B4: when the ramp guard last lowered the doses
    # D14: back from a break or a red-flag pause, sessions before this instant prove nothing
    evidence_since: datetime | None = None
    event_count: int = 0
    parked: dict[Key, Track] = field(default_factory=dict)  # R3: core held out, kept to resume
    s2_parked: dict[Key, Track] = field(default_factory=dict)  # S2: out while pain is above green
    core_flare: CoreFlare | None = None
    # B3: the dose (and variation level) each lightened exercise stands at, restored at the end
    deload_base: dict[Key, tuple[Dose, int]] = field(default_factory=dict)
    # The routine's maintenance marks worked out against the planned day they were read of
    # (output.py keeps them while that day stands); never read by the rules.
    marks: tuple[object, dict[Any, Hold | None]] | None = field(
        default=None, compare=False, repr=False
    )

    # --- recording changes -------------------------------------------------------------

    def change(self, track: Track, *, why: Why, dose: Dose, level: int, direction: str) -> None:
        ex = track.ex
        change = Change(
            why.rule,
            why.reason,
            why.causes,
            why.at,
            track.rx.block,
            track.rx.exercise,
            direction,
            before=track.rx.dose,
            after=dose,
        )
        track.rx = track.rx.with_dose(dose, change, level, ex.form(level, dose.load_kg))
        track.clean_sessions = []
        if direction not in OVERLAYS:  # another rule set the dose: the last step is replaced
            track.step = None
        self.changes.append(change)

    def void_evidence(self, at: datetime) -> None:
        """D14: back from a break (or a pause), every exercise earns its next step with sessions
        from `at` on, whether or not it could go a step lower: it resumes, it does not climb."""
        self.evidence_since = at
        for track in self.tracks.values():
            track.clean_sessions = []

    def standing(self, track: Track) -> tuple[Dose, int]:
        """The dose a track stands at: during the lighter week (B3), the one the week ends at."""
        return self.deload_base.get(track.key, (track.rx.dose, track.rx.variation_level))

    def set_standing(
        self, track: Track, *, why: Why, dose: Dose, level: int, direction: str
    ) -> None:
        """A pain rule sets the dose a track stands at.

        During the lighter week (B3) that is the dose the week ends at; until then the track
        shows its lighter form. The week lies over the dose, it never hides it from pain rules.
        """
        if track.key not in self.deload_base:
            self.change(track, why=why, dose=dose, level=level, direction=direction)
            return
        self.change(
            track, why=why, dose=lighter(dose, track.key[0]), level=level, direction=direction
        )
        self.deload_base[track.key] = (dose, level)

    def add(
        self, ex: Exercise, *, block: str, kind: str, dose: Dose, level: int, why: Why
    ) -> Track:
        change = Change(
            why.rule, why.reason, why.causes, why.at, block, ex.slug, "add", before=None, after=dose
        )
        rx = Prescription(
            ex.slug,
            kind,
            block,
            dose,
            level,
            ex.form(level, dose.load_kg),
            change,
            FORM_CUES.get(block, ()),
        )
        track = Track(rx)
        self.tracks[(block, ex.slug)] = track
        self.held_out.pop((block, ex.slug), None)
        self.changes.append(change)
        return track

    def hold_out(self, key: Key, *, why: Why) -> None:
        track = self.tracks.pop(key, None)
        if track is None:
            return
        self.held_out[key] = HeldOut(key[1], key[0], why.rule, why.reason, why.causes)
        self.changes.append(
            Change(
                why.rule,
                why.reason,
                why.causes,
                why.at,
                key[0],
                key[1],
                "remove",
                before=track.rx.dose,
            )
        )

    def note(self, *, why: Why, direction: str) -> None:
        self.changes.append(Change(why.rule, why.reason, why.causes, why.at, direction=direction))

    # --- reading the history -------------------------------------------------------------

    def pain_between(
        self, start: datetime, end: datetime, timings: tuple[str, ...] | None = None
    ) -> list[PainPoint]:
        window = self.pain.between(start, end)
        return window if timings is None else [p for p in window if p.timing in timings]

    def sessions_after(self, start: datetime, end: datetime) -> list["Session"]:
        """The sessions logged after `start`, up to and including `end`, in session_order."""
        if not self.logged.in_order:
            sessions = (self.sessions[sid] for sid in self.session_order)
            return [s for s in sessions if start < s.event.occurred_at <= end]
        return self.logged.after(start, end)

    def sessions_from_day(self, first: date) -> list["Session"]:
        """The sessions of local day `first` or later, in session_order."""
        if not self.logged.in_order:
            sessions = (self.sessions[sid] for sid in self.session_order)
            return [s for s in sessions if s.day >= first]
        # A local day starts at most a day before or after its UTC midnight: sessions two days
        # before `first` began (UTC) cannot be on it, and later ones are looked at one by one.
        earliest = datetime.combine(first - timedelta(days=2), time.min, UTC)
        return [s for s in self.logged.since(earliest) if s.day >= first]

    def last_sessions_with(self, key: Key, until: datetime, count: int) -> list["Session"]:
        """The last `count` sessions (in session_order) holding `key`, logged by `until`."""
        if not self.logged.in_order:
            sessions = (self.sessions[sid] for sid in self.session_order)
            found = [s for s in sessions if key in s.entries and s.event.occurred_at <= until]
            return found[-count:] if count else []
        behind: list[Session] = []
        for session in reversed(self.logged):
            if len(behind) == count:
                break
            if key in session.entries and session.event.occurred_at <= until:
                behind.append(session)
        return behind[::-1]

    def log_session(self, session: "Session") -> None:
        if session.session_id in self.sessions:  # logged again: session_order names it twice
            self.logged.in_order = False
        self.sessions[session.session_id] = session
        self.session_order.append(session.session_id)
        self.logged.append(session)

    def local_date(self, at: datetime) -> date:
        """The user's calendar day of an instant (D7): the declared zone, else the offset."""
        return (at if self.zone is None else at.astimezone(self.zone)).date()

    def days_since_start(self, at: datetime) -> float:
        if self.started_at is None:
            return 0.0
        return (at - self.started_at) / timedelta(days=1)

    def cleared(self, scope: str, after: datetime | None = None) -> bool:
        return any(scope in c.scopes and (after is None or c.at >= after) for c in self.clearances)

    def flares_since(self, start: datetime) -> list[Flare]:
        return self.flares.since(start)

    def last_session(self) -> Session | None:
        return self.sessions[self.session_order[-1]] if self.session_order else None


def local_days_between(state: State, start: datetime, end: datetime) -> int:
    """D22: whole local calendar days from `start` to `end` (the 7-day pace is 7 local days)."""
    return (state.local_date(end) - state.local_date(start)).days
