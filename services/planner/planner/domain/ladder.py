"""One step up (P1-P4) or one step down (D4) an exercise's ladder: a single dimension at a time.

There is a ladder per measure (hold, reps, load, minutes, intervals), each with its way up and
its way down side by side, so that every dose a step down reaches has a step up again (finding 1
of issue 11), and the only dose with no step up is the ladder's declared top (D20 maintenance).

Arithmetic on loads and minutes is done in exact fractions so that "at most 10 %" holds exactly,
never approximately.
"""

import functools
from dataclasses import dataclass, replace
from fractions import Fraction
from math import floor
from typing import Protocol

from planner.domain import rules_table as t
from planner.domain.exercises import Exercise
from planner.domain.routine import Dose, Interval


@dataclass(frozen=True)
class Step:
    rule: str
    dose: Dose
    level: int
    reason: str


@dataclass(frozen=True)
class Top:
    """D20: the top of the ladder. The exercise is kept at this dose, as maintenance."""

    rule: str
    reason: str
    level: int
    dose: None = None


Lower = tuple[Dose, int]


def _floor_to(value: Fraction, step: float) -> float:
    unit = Fraction(str(step))
    return float(floor(value / unit) * unit)


def _pct(value: float, pct: int) -> Fraction:
    return Fraction(str(value)) * (100 + pct) / 100


def raised_load(load_kg: float) -> float:
    """P2: the largest equipment step not above +10 %; equal to `load_kg` when no step fits."""
    return max(load_kg, _floor_to(_pct(load_kg, t.P2_LOAD_STEP_PCT), t.P2_EQUIPMENT_STEP_KG))


def raised_minutes(minutes: float) -> float:
    """P4: weekly minutes grow by at most 10 %: with fixed sessions, so does each session."""
    return max(minutes, _floor_to(_pct(minutes, t.P4_WEEKLY_STEP_PCT), t.P4_MINUTE_STEP))


def ex_name(ex: Exercise) -> str:
    return ex.slug.replace("_", " ")


def _next_variation(ex: Exercise, level: int) -> int | None:
    return level + 1 if level + 1 < len(ex.ladder) else None


def _top(ex: Exercise, level: int, what: str) -> Top:
    return Top(
        "D20",
        f"{ex_name(ex).capitalize()} is at the top of its ladder ({what}): keep it up as "
        "maintenance; more is your choice, not the plan's.",
        level,
    )


class Ladder(Protocol):
    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top: ...

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None: ...


@dataclass(frozen=True)
class HoldLadder:
    """P1 stretches, P3 planks: +5 s to the cap, then the next form back at the start."""

    rule: str
    start_s: int
    step_s: int
    cap_s: int
    floor_s: int  # D4: the lowest hold an ease-back reaches in a form

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        hold = dose.hold_s or self.start_s
        if hold + self.step_s <= self.cap_s:
            return Step(
                self.rule,
                replace(dose, hold_s=hold + self.step_s),
                level,
                f"You held it well for two sessions: hold {ex_name(ex)} {self.step_s} s longer.",
            )
        nxt = _next_variation(ex, level)
        if nxt is None:
            return _top(ex, level, f"{self.cap_s} s in its hardest form")
        return Step(
            self.rule,
            replace(dose, hold_s=self.start_s),
            nxt,
            f"You reached {self.cap_s} s: try the next form, {ex.ladder[nxt].name}, "
            f"back at {self.start_s} s.",
        )

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        hold = dose.hold_s or self.start_s
        if hold - t.D4_HOLD_STEP_S >= self.floor_s:
            return replace(dose, hold_s=hold - t.D4_HOLD_STEP_S), level
        if level > 0:  # at the floor of a harder form: the easier one at the same hold
            return dose, level - 1
        return None


@dataclass(frozen=True)
class RepsLadder:
    """P2 unloaded strength, P3 core reps: +1 rep to the top of the range, then a set or a form.

    At the top of an unloaded strength ladder an exercise that takes external load hands over to
    the load ladder: the first load is a step of its own (D17).
    """

    rule: str
    reps_min: int
    reps_max: int
    sets_max: int
    sets_before_form: bool  # P3: "then add a set or the next variation"; P2 the other way round

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        reps = dose.reps or self.reps_min
        sets = dose.sets or 1
        if reps + 1 <= self.reps_max:
            return Step(
                self.rule,
                replace(dose, reps=reps + 1),
                level,
                f"Every set was complete for two sessions: one more rep of {ex_name(ex)}.",
            )
        nxt = _next_variation(ex, level)
        more_sets = sets < self.sets_max
        if more_sets and (self.sets_before_form or nxt is None):
            return Step(
                self.rule,
                replace(dose, sets=sets + 1, reps=self.reps_min),
                level,
                f"You reached {self.reps_max} reps: add a set, back at {self.reps_min} reps.",
            )
        if nxt is not None:
            return Step(
                self.rule,
                replace(dose, reps=self.reps_min),
                nxt,
                f"You reached {self.reps_max} reps: move on to {ex.ladder[nxt].name}, back at "
                f"{self.reps_min} reps.",
            )
        if ex.first_load_kg is not None:
            return Step(
                "D17",
                replace(dose, load_kg=ex.first_load_kg, reps=t.P2_REPS_MIN),
                level,
                f"You reached {self.reps_max} reps: hold a light weight of {ex.first_load_kg:g} kg, "
                f"back at {t.P2_REPS_MIN} reps. Only the weight changes this time.",
            )
        return _top(ex, level, f"{sets} x {self.reps_max} in its hardest form")

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        reps = dose.reps or self.reps_min
        if reps > self.reps_min:
            return replace(dose, reps=max(self.reps_min, reps - t.D4_REP_STEP)), level
        if (dose.sets or 1) > 1:
            return replace(dose, sets=(dose.sets or 1) - 1), level
        if level > 0:  # one set at the fewest reps of a harder form: back a form, one dimension
            return dose, level - 1
        return None


@dataclass(frozen=True)
class LoadLadder:
    """P2 with external load: reps 8-12, then at most +10 % in equipment steps, back at 8 reps.

    Down is one load step (-10 %), never below the first external load: below it the exercise
    goes back to its unloaded form at the same reps, one dimension (finding 1).
    """

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        reps = dose.reps or t.P2_REPS_MIN
        load = dose.load_kg or 0.0
        if reps + t.P2_REP_STEP <= t.P2_REPS_MAX:
            return Step(
                "P2",
                replace(dose, reps=reps + t.P2_REP_STEP),
                level,
                f"Every set was complete for two sessions: one more rep of {ex_name(ex)}.",
            )
        new_load = raised_load(load)
        if new_load > load:
            return Step(
                "P2",
                replace(dose, load_kg=new_load, reps=t.P2_REPS_MIN),
                level,
                f"Every set reached {t.P2_REPS_MAX} reps without pain: raise the weight to "
                f"{new_load:g} kg (no more than 10 %) and drop back to {t.P2_REPS_MIN} reps.",
            )
        return _top(ex, level, f"{load:g} kg")  # never reached from a first load of 0.5 kg or more

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        load = dose.load_kg or 0.0
        first = ex.first_load_kg or t.P2_FIRST_LOAD_KG
        if load <= first:
            return replace(dose, load_kg=None), level
        lower = _floor_to(
            Fraction(str(load)) * (100 - t.D4_LOAD_STEP_PCT) / 100, t.P2_EQUIPMENT_STEP_KG
        )
        lower = max(first, min(lower, load - t.P2_EQUIPMENT_STEP_KG))
        return replace(dose, load_kg=lower), level


@dataclass(frozen=True)
class MinutesLadder:
    """P4 steady cardio: at most +10 % a week in 0.5-minute steps, up to the session cap."""

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        minutes = dose.duration_min or t.P4_BOUT_MIN
        new_minutes = min(raised_minutes(minutes), t.P4_DURATION_CAP_MIN)
        if new_minutes <= minutes:
            return _top(ex, level, f"{t.P4_DURATION_CAP_MIN:g} minutes a session")
        return Step(
            "P4",
            replace(dose, duration_min=new_minutes),
            level,
            f"A good week: {ex_name(ex)} goes up to {new_minutes:g} minutes (at most 10 % more "
            "per week).",
        )

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        minutes = dose.duration_min or t.P4_BOUT_MIN
        lower = max(
            t.P4_BOUT_MIN,
            _floor_to(
                Fraction(str(minutes)) * (100 - t.D4_CARDIO_STEP_PCT) / 100, t.P4_MINUTE_STEP
            ),
        )
        if lower < minutes:
            return replace(dose, duration_min=lower), level
        return None


@dataclass(frozen=True)
class IntervalLadder:
    """P4 intervals: longer hard parts, up to 3 minutes (D18). Rounds an ease-back took come
    back first, as down takes the hard part first."""

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        iv = dose.interval or starting_interval()
        if iv.rounds < t.P4_INTERVAL_ROUNDS:
            return Step(
                "P4",
                replace(dose, interval=iv.with_rounds(iv.rounds + 1)),
                level,
                f"Your intervals went well: back to {iv.rounds + 1} rounds.",
            )
        if iv.hard_min + t.P4_INTERVAL_HARD_STEP_MIN > t.D18_INTERVAL_HARD_CAP_MIN:
            return _top(ex, level, f"hard parts of {t.D18_INTERVAL_HARD_CAP_MIN:g} minutes")
        new_iv = iv.with_hard(iv.hard_min + t.P4_INTERVAL_HARD_STEP_MIN)
        return Step(
            "P4",
            replace(dose, interval=new_iv),
            level,
            f"Your intervals went well: make each hard part {new_iv.hard_min:g} minutes.",
        )

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        iv = dose.interval or starting_interval()
        if iv.hard_min - t.P4_INTERVAL_HARD_STEP_MIN >= t.P4_INTERVAL_HARD_MIN:
            return replace(
                dose, interval=iv.with_hard(iv.hard_min - t.P4_INTERVAL_HARD_STEP_MIN)
            ), level
        if iv.rounds > t.P4_INTERVAL_ROUNDS_MIN:
            return replace(dose, interval=iv.with_rounds(iv.rounds - 1)), level
        return None


@dataclass(frozen=True)
class SprintLadder:
    """D18: hill sprints keep short hard parts (<= 30 s) and grow by repetitions, up to 8."""

    def up(self, ex: Exercise, dose: Dose, level: int) -> Step | Top:
        iv = dose.interval or starting_sprints()
        if iv.rounds + 1 > t.D18_SPRINT_ROUNDS_MAX:
            return _top(ex, level, f"{t.D18_SPRINT_ROUNDS_MAX} short sprints")
        return Step(
            "D18",
            replace(dose, interval=iv.with_rounds(iv.rounds + 1)),
            level,
            f"Your sprints went well: one more repetition ({iv.rounds + 1}), each just as short.",
        )

    def down(self, ex: Exercise, dose: Dose, level: int) -> Lower | None:
        iv = dose.interval or starting_sprints()
        if iv.rounds > t.P4_INTERVAL_ROUNDS_MIN:
            return replace(dose, interval=iv.with_rounds(iv.rounds - 1)), level
        return None


STRETCH_HOLD = HoldLadder(
    "P1", t.P1_HOLD_START_S, t.P1_HOLD_STEP_S, t.P1_HOLD_CAP_S, t.P1_HOLD_START_S
)
PLANK_HOLD = HoldLadder(
    "P3", t.P3_PLANK_START_S, t.P3_PLANK_STEP_S, t.P3_PLANK_CAP_S, t.P3_PLANK_FLOOR_S
)
STRENGTH_REPS = RepsLadder("P2", t.P2_REPS_MIN, t.P2_REPS_MAX, t.P2_SETS_MAX, False)
CORE_REPS = RepsLadder("P3", t.P3_REPS_MIN, t.P3_REPS_MAX, t.P3_SETS_MAX, True)
LOAD = LoadLadder()
MINUTES = MinutesLadder()
INTERVALS = IntervalLadder()
SPRINTS = SprintLadder()


def ladder_for(ex: Exercise, dose: Dose) -> Ladder | None:
    """The ladder this dose climbs; None for the fixed S3 warm-up and cool-down."""
    if ex.block == "stretching":
        return STRETCH_HOLD
    if ex.block == "core":
        return PLANK_HOLD if ex.measure == "hold" else CORE_REPS
    if ex.block == "strength":
        return LOAD if dose.load_kg else STRENGTH_REPS
    if ex.block == "cardio":
        if ex.measure == "interval":
            return SPRINTS if ex.high_impact else INTERVALS
        return MINUTES
    return None


@functools.lru_cache(maxsize=4096)  # pure, and asked for every prescription of every routine
def next_step(ex: Exercise, dose: Dose, level: int) -> Step | Top:
    """The next single step for this exercise, or the top of its ladder (D20)."""
    ladder = ladder_for(ex, dose)
    if ladder is None:
        return Top("S3", "Warm-up and cool-down keep their fixed doses.", level)
    return ladder.up(ex, dose, level)


def step_up(ex: Exercise, dose: Dose, level: int) -> Step | None:
    step = next_step(ex, dose, level)
    return step if isinstance(step, Step) else None


def ease_back(ex: Exercise, dose: Dose, level: int) -> Lower | None:
    """D4: one step down — -5 s hold, one load step (-10 %), -2 reps, or -10 % cardio minutes.

    None when the dose is already at the bottom of the ladder.
    """
    ladder = ladder_for(ex, dose)
    return None if ladder is None else ladder.down(ex, dose, level)


def lighter(dose: Dose, block: str) -> Dose:
    """B3: the lighter week's dose: one set fewer for strength and core, 70 % of cardio minutes."""
    if block in ("strength", "core") and (dose.sets or 1) > 1:
        return replace(dose, sets=(dose.sets or 1) - 1)
    if block == "cardio" and dose.duration_min is not None:
        cut = _floor_to(
            Fraction(str(dose.duration_min)) * Fraction(str(t.B3_DELOAD_CARDIO_FACTOR)),
            t.P4_MINUTE_STEP,
        )
        return replace(dose, duration_min=max(float(t.P4_BOUT_MIN), cut))
    return dose


def starting_interval() -> Interval:
    return Interval(t.P4_INTERVAL_HARD_MIN, t.P4_INTERVAL_EASY_MIN, t.P4_INTERVAL_ROUNDS, "low")


def starting_sprints() -> Interval:
    """D18: short uphill efforts, walking back down between them."""
    return Interval(
        t.D18_SPRINT_HARD_MAX_S / 60, t.D18_SPRINT_EASY_MIN, t.D18_SPRINT_ROUNDS_START, "high"
    )


def starting_doses(ex: Exercise) -> list[Lower]:
    """Every dose an exercise can start at (S1, the introductions): the foot of its ladders."""
    if ex.block == "stretching":
        return [(Dose(hold_s=t.P1_HOLD_START_S, sets=t.P1_STRETCH_SETS), 0)]
    if ex.block == "core" and ex.measure == "hold":
        return [(Dose(hold_s=t.P3_PLANK_START_S, sets=t.P3_SETS_START), lv) for lv in (0, 1)]
    if ex.block == "core":
        return [(Dose(sets=t.P3_SETS_START, reps=t.P3_REPS_MIN), 0)]
    if ex.block == "strength":
        return [(Dose(sets=t.P2_SETS_START, reps=t.P2_REPS_MIN), 0)]
    if ex.block == "cardio" and ex.measure == "interval":
        return [(Dose(interval=starting_sprints() if ex.high_impact else starting_interval()), 0)]
    if ex.block == "cardio":
        steps = int((t.P4_START_CAP_MIN - t.P4_BOUT_MIN) / t.P4_MINUTE_STEP)
        return [
            (Dose(duration_min=t.P4_BOUT_MIN + i * t.P4_MINUTE_STEP), 0) for i in range(steps + 1)
        ]
    return []
