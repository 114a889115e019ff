"""The routine the rules produce: blocks of prescriptions, each with its dose and its last change."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from planner.domain.rules_table import RECENT_CHANGES_SHOWN

JSON = dict[str, Any]


def rfc3339(instant: datetime) -> str:
    return instant.isoformat()


def _kept(value: object, name: str, make: Callable[[], JSON]) -> JSON:
    """`make()` kept on a frozen value under `name`: a dose or a change is shown by every routine
    built while it stands, and its document never changes. Routine documents are read, never
    changed in place, so the routines that show it share it."""
    kept: JSON | None = value.__dict__.get(name)
    if kept is None:
        kept = make()
        object.__setattr__(value, name, kept)
    return kept


def _num(value: float) -> float | int:
    # Whole numbers print as ints so 30 and 30.0 never produce two different documents.
    return int(value) if float(value).is_integer() else round(float(value), 3)


@dataclass(frozen=True)
class Interval:
    hard_min: float
    easy_min: float
    rounds: int
    intensity: str  # "low" first: "interval training starts at low intensity"

    def with_hard(self, hard_min: float) -> "Interval":
        return replace(self, hard_min=hard_min)

    def with_rounds(self, rounds: int) -> "Interval":
        return replace(self, rounds=rounds)

    def to_dict(self) -> JSON:
        return {
            "hard_min": _num(self.hard_min),
            "easy_min": _num(self.easy_min),
            "rounds": self.rounds,
            "intensity": self.intensity,
        }


@dataclass(frozen=True)
class Dose:
    hold_s: float | None = None
    sets: int | None = None
    reps: int | None = None
    load_kg: float | None = None
    duration_min: float | None = None
    interval: Interval | None = None
    sessions_per_week: int | None = None

    def to_dict(self) -> JSON:
        return _kept(self, "_document", self._document)

    def _document(self) -> JSON:
        out: JSON = {}
        for name in ("hold_s", "sets", "reps", "load_kg", "duration_min", "sessions_per_week"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _num(value)
        if self.interval is not None:
            out["interval"] = self.interval.to_dict()
        return out

    def weekly_minutes(self) -> float:
        minutes = self.duration_min or 0.0
        if self.interval is not None:
            minutes = (self.interval.hard_min + self.interval.easy_min) * self.interval.rounds
        return minutes * (self.sessions_per_week or 0)


@dataclass(frozen=True)
class Change:
    """One change to a prescription (or to the routine when `exercise` is None), and its cause."""

    rule: str
    reason: str
    caused_by: tuple[str, ...]
    at: datetime  # occurred_at of the event that caused it, never a wall clock
    block: str | None = None
    exercise: str | None = None
    direction: str = "set"  # "set" | "up" | "down" | "hold" | "revert" | "add" | "remove"
    before: Dose | None = None
    after: Dose | None = None

    def to_dict(self) -> JSON:
        return _kept(self, "_document", self._document)

    def _document(self) -> JSON:
        out: JSON = {
            "rule": self.rule,
            "reason": self.reason,
            "caused_by": list(self.caused_by),
            "at": rfc3339(self.at),
            "direction": self.direction,
        }
        if self.exercise is not None:
            out["exercise"] = self.exercise
            out["block"] = self.block
        if self.before is not None:
            out["before"] = self.before.to_dict()
        if self.after is not None:
            out["after"] = self.after.to_dict()
        return out

    def brief(self) -> JSON:
        return _kept(self, "_brief", self._brief)

    def _brief(self) -> JSON:
        return {
            "rule": self.rule,
            "reason": self.reason,
            "caused_by": list(self.caused_by),
            "at": rfc3339(self.at),
        }


@dataclass(frozen=True)
class Hold:
    """Why a prescription is not progressing right now (it is not a change of dose)."""

    rule: str
    reason: str

    def to_dict(self) -> JSON:
        return {"rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class Prescription:
    exercise: str
    kind: str
    block: str
    dose: Dose
    variation_level: int
    variation: str
    last_change: Change
    cues: tuple[str, ...] = ()
    hold: Hold | None = None
    maintenance: Hold | None = None  # D20: at the top of its ladder, kept as it is

    def with_dose(
        self, dose: Dose, change: Change, level: int | None = None, variation: str | None = None
    ) -> "Prescription":
        return replace(
            self,
            dose=dose,
            last_change=change,
            variation_level=self.variation_level if level is None else level,
            variation=self.variation if variation is None else variation,
        )

    def marked(self, hold: Hold | None, maintenance: Hold | None) -> "Prescription":
        """This prescription with why it is not progressing, and its maintenance mark."""
        return Prescription(
            self.exercise,
            self.kind,
            self.block,
            self.dose,
            self.variation_level,
            self.variation,
            self.last_change,
            self.cues,
            hold,
            maintenance,
        )

    def to_dict(self) -> JSON:
        return {
            "exercise": self.exercise,
            "kind": self.kind,
            "dose": self.dose.to_dict(),
            "variation_level": self.variation_level,
            "variation": self.variation,
            "last_change": self.last_change.brief(),
            "cues": list(self.cues),
            "hold": None if self.hold is None else self.hold.to_dict(),
            "maintenance": None if self.maintenance is None else self.maintenance.to_dict(),
        }


@dataclass(frozen=True)
class Block:
    block: str
    prescriptions: tuple[Prescription, ...]

    def to_dict(self) -> JSON:
        return {"block": self.block, "prescriptions": [p.to_dict() for p in self.prescriptions]}


@dataclass(frozen=True)
class Advice:
    rule: str
    severity: str  # "info" | "caution" | "urgent" | "emergency"
    text: str
    caused_by: tuple[str, ...] = ()

    def to_dict(self) -> JSON:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "text": self.text,
            "caused_by": list(self.caused_by),
        }


@dataclass(frozen=True)
class HeldOut:
    exercise: str
    block: str
    rule: str
    reason: str
    caused_by: tuple[str, ...]

    def to_dict(self) -> JSON:
        return {
            "exercise": self.exercise,
            "block": self.block,
            "rule": self.rule,
            "reason": self.reason,
            "caused_by": list(self.caused_by),
        }


@dataclass(frozen=True)
class Routine:
    rules_version: str
    status: str  # "active" | "paused"
    pause_reason: str | None
    blocks: tuple[Block, ...]
    advice: tuple[Advice, ...] = ()
    weekly_plan: JSON = field(default_factory=dict)
    changes: tuple[Change, ...] = ()  # every change, oldest first
    held_out: tuple[HeldOut, ...] = ()
    goals: tuple[JSON, ...] = ()
    deload: JSON = field(default_factory=dict)
    based_on: JSON = field(default_factory=dict)
    session_estimate_min: float = 0.0  # D11: a training day's estimated length
    session_budget_min: int = 0  # D11: what it stays within

    def prescription(self, exercise: str, block: str | None = None) -> Prescription | None:
        for b in self.blocks:
            for p in b.prescriptions:
                if p.exercise == exercise and (block is None or p.block == block):
                    return p
        return None

    def to_dict(self, recent: int | None = None) -> JSON:
        shown = self.changes[-(recent or RECENT_CHANGES_SHOWN) :] if self.changes else ()
        return {
            "rules_version": self.rules_version,
            "status": self.status,
            "pause_reason": self.pause_reason,
            "blocks": [b.to_dict() for b in self.blocks],
            "held_out": [h.to_dict() for h in self.held_out],
            "advice": [a.to_dict() for a in self.advice],
            "weekly_plan": self.weekly_plan,
            "goals": list(self.goals),
            "deload": self.deload,
            "recent_changes": [c.to_dict() for c in shown],
            "session_estimate_min": _num(self.session_estimate_min),
            "session_budget_min": self.session_budget_min,
            "based_on": self.based_on,
        }
