"""What every check reads: the moment an event was folded, and what the checks remember."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from planner.domain.exercises import EXERCISES
from planner.domain.history import LoggedEvent
from planner.domain.routine import Change, Prescription, Routine
from tests.simulation.patients import Patient
from tests.simulation.record import Key, Record, SessionRecord

EARLY_PHASE = timedelta(days=28)  # D1
HIGH_IMPACT_AFTER = timedelta(days=56)  # S2
ACWR_MAX = 1.5  # B4
MAX_STEP_UPS = 3  # D11
OVERLAYS = ("deload", "restore")  # B3 lays a lighter week over a dose; it is not a step

TWISTING = {e.slug for e in EXERCISES.values() if e.loaded_twist} | {"bicycle_crunch"}
RUNNING = {e.slug for e in EXERCISES.values() if e.running} | {"steady_run", "intervals"}
HIGH_IMPACT = {e.slug for e in EXERCISES.values() if e.high_impact} | {
    "hill_sprints",
    "plyometrics",
}
# Catalogue data: where external load starts (on the exercise since D17, on a variation before).
FIRST_LOAD_KG = min(
    (
        load
        for e in EXERCISES.values()
        for load in (
            getattr(e, "first_load_kg", None),
            *(getattr(v, "first_load_kg", None) for v in e.ladder),
        )
        if load
    ),
    default=5.0,
)


@dataclass
class PendingStep:
    change: Change
    session: SessionRecord
    key: Key
    dose_since: datetime | None  # when the dose it stepped from was set
    previous_up: datetime | None  # the exercise's previous step-up, else when it was added


@dataclass
class Memory:
    """What the checks remember between moments."""

    last_active: Routine | None = None
    red_flag_since: datetime | None = None
    last_up: dict[Key, datetime] = field(default_factory=dict)
    added_at: dict[Key, datetime] = field(default_factory=dict)
    last_dose_change: dict[Key, datetime] = field(default_factory=dict)
    last_down: dict[Key, datetime] = field(default_factory=dict)
    pending: list[PendingStep] = field(default_factory=list)
    r2_pending: str | None = None  # the 24-hour report that R2 must answer at the next session
    ever_present: set[str] = field(default_factory=set)
    acwr_skipped: int = 0
    core_flare_since: datetime | None = None  # R3: until a `core` clearance
    last_stepping: set[Key] = field(
        default_factory=set
    )  # R4: standing ups of the last stepping session
    resumed_at: datetime | None = None  # the first active moment after a pause (D10)
    contract_shapes: set[object] = field(default_factory=set)


@dataclass
class Moment:
    event: LoggedEvent
    routine: Routine
    previous: Routine | None
    new_changes: tuple[Change, ...]
    record: Record
    patient: Patient
    memory: Memory
    session: SessionRecord | None  # when the event is a workout

    @property
    def at(self) -> datetime:
        return self.event.occurred_at

    def local_day(self, instant: datetime) -> date:
        return self.patient.clock.local_day(instant)

    @property
    def active(self) -> bool:
        return self.routine.status == "active"

    def prescriptions(self) -> list[Prescription]:
        return [rx for b in self.routine.blocks for rx in b.prescriptions]

    def prescription(self, exercise: str) -> Prescription | None:
        return self.routine.prescription(exercise)

    def ups(self) -> list[Change]:
        return [c for c in self.new_changes if c.direction == "up" and c.exercise is not None]


Check = Callable[[Moment], list[str]]


def at_bottom(rx: Prescription) -> bool:
    """No step down is left: the first form, no load, one set at the fewest reps or the
    shortest hold, the shortest bout (a stretch: the first form at 30 s, whatever its sets)."""
    d = rx.dose
    if rx.block == "stretching" or (d.hold_s is not None and d.reps is None):
        # P1: "hold each stretch for at least 30 seconds"; P3: "plank for 30-60 seconds". A hold
        # climbs by its seconds and its form: it has no set step to drop
        return rx.variation_level == 0 and (d.hold_s or 0) <= 30
    return (
        rx.variation_level == 0
        and not d.load_kg
        and (d.sets or 1) <= 1
        and (d.reps or 0) <= 8
        and (d.hold_s or 0) <= 30
        and (d.duration_min or 0) <= 5
    )
