"""The invariants of DOMAIN.md, one small function each, named after what it checks.

Each check reads a `Moment` (the event just folded, the routine it produced, the routine before,
and the simulator's own record of what the patient did) and returns a list of findings, each a
short sentence. `ROUTINE_CHECKS` run on every routine; `STEP_CHECKS` judge each step-up once the
next session starts, when every pain report about the session that earned it is in.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction

from planner.domain.exercises import EXERCISES
from planner.domain.history import LoggedEvent
from planner.domain.routine import Change, Prescription, Routine
from planner.domain.rules_table import RULES
from tests.simulation import doses
from tests.simulation.patients import Patient
from tests.simulation.record import AMBER_MAX, GREEN_MAX, Key, Record, SessionRecord

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
FIRST_LOAD_KG = min(
    (v.first_load_kg for e in EXERCISES.values() for v in e.ladder if v.first_load_kg),
    default=5.0,
)


@dataclass
class PendingStep:
    change: Change
    session: SessionRecord
    key: Key
    dose_since: datetime | None  # when the dose it stepped from was set
    previous_up: datetime | None


@dataclass
class Memory:
    """What the checks remember between moments."""

    last_active: Routine | None = None
    red_flag_since: datetime | None = None
    last_up: dict[Key, datetime] = field(default_factory=dict)
    last_dose_change: dict[Key, datetime] = field(default_factory=dict)
    last_down: dict[Key, datetime] = field(default_factory=dict)
    pending: list[PendingStep] = field(default_factory=list)
    r2_pending: str | None = None  # the 24-hour report that R2 must answer at the next session
    ever_present: set[str] = field(default_factory=set)
    acwr_skipped: int = 0


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

    def ups(self) -> list[Change]:
        return [c for c in self.new_changes if c.direction == "up" and c.exercise is not None]


Check = Callable[[Moment], list[str]]


# --- every routine ---------------------------------------------------------------------


def reps_within_range(m: Moment) -> list[str]:
    """P2: strength reps 8-12; P3: core reps 8-15."""
    out = []
    for rx in m.prescriptions():
        reps = rx.dose.reps
        limits = {"strength": doses.STRENGTH_REPS, "core": doses.CORE_REPS}.get(rx.block)
        if reps is not None and limits and not limits[0] <= reps <= limits[1]:
            out.append(f"{rx.exercise} at {reps} reps, outside {limits[0]}-{limits[1]}")
    return out


def _entering(m: Moment, group: set[str]) -> list[Prescription]:
    before = m.memory.last_active
    had = {rx.exercise for b in before.blocks for rx in b.prescriptions} if before else set()
    return [rx for rx in m.prescriptions() if rx.exercise in group and rx.exercise not in had]


def _present(m: Moment, group: set[str]) -> list[Prescription]:
    return [rx for rx in m.prescriptions() if rx.exercise in group]


def s2_no_loaded_twisting_before_its_gates(m: Moment) -> list[str]:
    """D1/S2: bicycle crunches enter after the early phase (4 weeks) and 2 evidence weeks with no
    amber or red pain; they are parked while the last 7 days held pain above green."""
    out = []
    since = m.at - m.record.start
    for rx in _entering(m, TWISTING):
        if since < EARLY_PHASE:
            out.append(f"{rx.exercise} entered on day {since.days}, inside the early phase")
        elif not m.record.quiet_evidence_weeks(m.at, 2, GREEN_MAX):
            out.append(f"{rx.exercise} entered without 2 quiet weeks of >= 2 sessions each")
    if m.record.pain_above_green_in_last_week(m.at):
        out += [
            f"{rx.exercise} kept with amber/red pain in the last 7 days"
            for rx in _present(m, TWISTING)
        ]
    return out


def s2_no_running_before_its_gates(m: Moment) -> list[str]:
    """D2/S2: running enters after the early phase and 4 evidence weeks with no red pain; it is
    parked while the last 7 days held pain above green."""
    out = []
    since = m.at - m.record.start
    for rx in _entering(m, RUNNING):
        if since < EARLY_PHASE:
            out.append(f"{rx.exercise} entered on day {since.days}, inside the early phase")
        elif not m.record.quiet_evidence_weeks(m.at, 4, AMBER_MAX):
            out.append(f"{rx.exercise} entered without 4 weeks of >= 2 sessions free of red pain")
    if m.record.pain_above_green_in_last_week(m.at):
        out += [
            f"{rx.exercise} kept with amber/red pain in the last 7 days"
            for rx in _present(m, RUNNING)
        ]
    return out


def s2_no_high_impact_before_its_gates(m: Moment) -> list[str]:
    """S2/D2: hill sprints and plyometrics need a clinician's `high_impact` clearance, 8 weeks
    and 8 pain-free evidence weeks; never while the last 7 days held pain above green."""
    out = []
    for rx in _entering(m, HIGH_IMPACT):
        if not m.record.cleared("high_impact", m.at):
            out.append(f"{rx.exercise} entered without a high_impact clearance")
        elif m.at - m.record.start < HIGH_IMPACT_AFTER:
            out.append(f"{rx.exercise} entered before week 8")
        elif not m.record.quiet_evidence_weeks(m.at, 8, GREEN_MAX):
            out.append(f"{rx.exercise} entered without 8 pain-free weeks of >= 2 sessions")
    if m.record.pain_above_green_in_last_week(m.at):
        out += [
            f"{rx.exercise} kept with amber/red pain in the last 7 days"
            for rx in _present(m, HIGH_IMPACT)
        ]
    return out


def red_flag_pauses_until_reviewed(m: Moment) -> list[str]:
    """R6/B2 and December: a red flag pauses the routine (nothing prescribed) until a clearance
    with scope `red_flag_reviewed`; that review resumes it."""
    if m.memory.red_flag_since is not None:
        if m.routine.status != "paused" or m.routine.blocks:
            return [
                f"routine {m.routine.status} with {len(m.prescriptions())} prescriptions after a red flag, before a review"
            ]
        return []
    scopes = m.event.payload.get("scopes", ()) if m.event.type == "clearance.recorded" else ()
    if "red_flag_reviewed" in scopes and m.routine.status != "active":
        return ["a red_flag_reviewed clearance did not resume the routine"]
    return []


def weekly_cardio_at_most_150_min(m: Moment) -> list[str]:
    """D20: prescribed cardio stops growing at 150 minutes a week."""
    minutes = doses.weekly_cardio_minutes(m.routine)
    if minutes > doses.WEEKLY_CARDIO_CAP_MIN + 1e-9:
        return [f"{minutes:g} min of cardio a week prescribed"]
    return []


def full_day(m: Moment) -> list[Prescription]:
    """What a full (strength and core) training day of this routine holds."""
    days = m.routine.weekly_plan.get("days") or []
    listed = next((d.get("exercises") for d in days if d.get("day") == "full"), None)
    if listed is None:
        return [rx for rx in m.prescriptions() if rx.block in doses.FULL_DAY_BLOCKS]
    names = set(listed)
    return [rx for rx in m.prescriptions() if f"{rx.block}:{rx.exercise}" in names]


def session_within_budget(m: Moment) -> list[str]:
    """D11: a training session's estimated time stays within the budget (default 60 min)."""
    if not m.active:
        return []
    budget = m.patient.budget_min or doses.DEFAULT_BUDGET_MIN
    minutes = doses.session_minutes(full_day(m))
    if minutes > budget + 1e-9:
        return [f"a full session is estimated at {minutes:.1f} min, budget {budget}"]
    return []


def _hard(day: dict) -> bool:
    listed = day.get("exercises")
    if listed is None:
        return day.get("day") == "full"
    return any(str(x).split(":")[0] in ("strength", "core") for x in listed)


def no_strength_or_core_on_consecutive_days(m: Moment) -> list[str]:
    """P3/F2: strength and core never on consecutive (local) days: within the plan, and from the
    last logged hard session to the plan's first hard day."""
    days = [d for d in m.routine.weekly_plan.get("days") or [] if _hard(d)]
    dates = sorted(date.fromisoformat(d["date"]) for d in days)
    out = [f"hard days {a} and {b}" for a, b in itertools.pairwise(dates) if (b - a).days == 1]
    last = next((s.day for s in reversed(m.record.sessions) if s.hard), None)
    if last is not None and dates and (dates[0] - last).days == 1:
        out.append(f"a hard day {dates[0]} planned the local day after the hard session of {last}")
    return out


def plan_starts_at_the_instant_asked(m: Moment) -> list[str]:
    """December: the weekly plan and the next session start from the instant asked."""
    if not m.active:
        return []
    today = m.local_day(m.at)
    plan = m.routine.weekly_plan
    nxt = (plan.get("next_session") or {}).get("date")
    if nxt is not None and date.fromisoformat(nxt) < today:
        return [f"next session {nxt} is before today {today}"]
    return []


def every_change_names_its_rule_and_causes(m: Moment) -> list[str]:
    """Every change names a rule id of the rules table and the logged events that caused it."""
    out = []
    for c in m.new_changes:
        if c.rule not in RULES:
            out.append(f"change by unknown rule {c.rule!r}")
        if not c.caused_by:
            out.append(f"{c.rule} change of {c.exercise} names no causing event")
        for cause in c.caused_by:
            when = m.record.events_at.get(cause)
            if when is None:
                out.append(f"{c.rule} change names {cause}, not an event of this user")
            elif when > c.at or c.at > m.at:
                out.append(f"{c.rule} change dated {c.at} against its cause at {when}")
    return out


def every_dose_has_a_way_up(m: Moment) -> list[str]:
    """D20 and December: every reachable dose has a next step or is a declared maintenance
    ceiling (`maintenance` on the prescription; its absence means D20 is not implemented)."""
    weekly = doses.weekly_cardio_minutes(m.routine)
    out = []
    for rx in m.prescriptions():
        if rx.block not in doses.PROGRESSED_BLOCKS or doses.maintenance_of(rx):
            continue
        if not doses.has_way_up(rx, weekly):
            marked = (
                "no maintenance mark" if hasattr(rx, "maintenance") else "no `maintenance` field"
            )
            out.append(
                f"{rx.exercise} {rx.dose.to_dict()} level {rx.variation_level}: no way up, {marked}"
            )
    return out


def ease_back_never_below_first_load(m: Moment) -> list[str]:
    """December: an eased loaded exercise never lands below the first external load."""
    return [
        f"{rx.exercise} at {rx.dose.load_kg:g} kg, below the first load {FIRST_LOAD_KG:g} kg"
        for rx in m.prescriptions()
        if rx.block == "strength" and rx.dose.load_kg and rx.dose.load_kg < FIRST_LOAD_KG
    ]


def one_interval_form_at_a_time(m: Moment) -> list[str]:
    """December: hill sprints replace intervals, never beside them; a replaced exercise is not
    re-added."""
    names = {rx.exercise for rx in _present(m, {"intervals", "hill_sprints"})}
    out = []
    if names == {"intervals", "hill_sprints"}:
        out.append("intervals and hill sprints prescribed together")
    if "intervals" in names and "hill_sprints" in m.memory.ever_present:
        out.append("intervals re-added after hill sprints replaced them")
    return out


def interval_hard_parts_capped(m: Moment) -> list[str]:
    """D18: hill-sprint hard parts at most 30 s and at most 8 repetitions; intervals' 3 min."""
    out = []
    for rx in _present(m, {"intervals", "hill_sprints"}):
        iv = rx.dose.interval
        if iv is None:
            continue
        cap = (
            doses.SPRINT_HARD_CAP_MIN
            if rx.exercise == "hill_sprints"
            else doses.INTERVAL_HARD_CAP_MIN
        )
        if iv.hard_min > cap + 1e-9:
            out.append(f"{rx.exercise} hard parts of {iv.hard_min:g} min (cap {cap:g})")
        if rx.exercise == "hill_sprints" and iv.rounds > doses.SPRINT_ROUNDS_CAP:
            out.append(f"hill sprints of {iv.rounds} repetitions")
    return out


def pool_user_is_offered_swimming(m: Moment) -> list[str]:
    """D19: with `access` including `pool`, swimming is offered beside walking."""
    if "pool" not in m.patient.access or not m.active or m.event.type == "baseline.assessed":
        return []
    if not _present(m, {"swimming"}):
        return ["a pool user's routine offers no swimming"]
    return []


def over_performance_is_told(m: Moment) -> list[str]:
    """D15: a session logged above the prescription adds advice to stay with the plan."""
    if m.session is None or not any(d.above for d in m.session.done.values()):
        return []
    if not any(a.rule == "D15" for a in m.routine.advice):
        return ["a session logged above the prescription got no D15 advice"]
    return []


def acute_chronic_ratio_at_most_1_5(m: Moment) -> list[str]:
    """B4/D14: the 7:28-day ratio of the prescribed load (RPE x estimated minutes of what was
    prescribed and done), once 28 days of data exist, stays at or below 1.5. When the 21 days
    before the last 7 hold no load at all the ratio is 4 whatever the dose: not judged."""
    if m.session is None:
        return []
    sessions = m.record.sessions
    if m.at - sessions[0].at < timedelta(days=28):
        return []
    acute = sum(
        s.prescribed_load for s in m.record.sessions_between(m.at - timedelta(days=7), m.at)
    )
    base = sum(
        s.prescribed_load
        for s in m.record.sessions_between(m.at - timedelta(days=28), m.at - timedelta(days=7))
    )
    if base <= 0:
        m.memory.acwr_skipped += 1
        return []
    ratio = acute / ((acute + base) / 4)
    if ratio > ACWR_MAX + 1e-9:
        return [f"acute:chronic ratio {ratio:.2f} of what was prescribed"]
    return []


# --- each step-up, as it is made ----------------------------------------------------------


def load_steps_at_most_10_percent_in_half_kg(m: Moment) -> list[str]:
    """P2: a load step is at most +10 % and lands on the 0.5 kg equipment step."""
    out = []
    for c in m.ups():
        b = (c.before.load_kg if c.before else None) or 0.0
        a = (c.after.load_kg if c.after else None) or 0.0
        if a <= b:
            continue
        if doses.frac(a) % doses.LOAD_STEP_KG:
            out.append(f"{c.exercise} load {a:g} kg is not on the 0.5 kg step")
        if b > 0 and doses.frac(a) > doses.frac(b) * Fraction(11, 10):
            out.append(f"{c.exercise} load {b:g} -> {a:g} kg, more than +10 %")
    return out


def hold_steps_at_most_10_s(m: Moment) -> list[str]:
    """P1/P3: a hold grows by at most 10 s a step."""
    out = []
    for c in m.ups():
        b = (c.before.hold_s if c.before else None) or 0.0
        a = (c.after.hold_s if c.after else None) or 0.0
        if b and a - b > 10 + 1e-9:
            out.append(f"{c.exercise} hold {b:g} -> {a:g} s")
    return out


def one_step_per_7_local_days(m: Moment) -> list[str]:
    """P5/D22: an exercise steps up at most once per 7 local days."""
    out = []
    for c in m.ups():
        last = m.memory.last_up.get((c.block or "", c.exercise or ""))
        if last is not None and (m.local_day(c.at) - m.local_day(last)).days < 7:
            out.append(f"{c.exercise} stepped up {m.local_day(last)} and again {m.local_day(c.at)}")
    return out


def at_most_3_step_ups_per_session(m: Moment) -> list[str]:
    """D11: at most 3 exercises step up at one session."""
    ups = {c.exercise for c in m.ups()}
    return [f"{len(ups)} exercises stepped up at once"] if len(ups) > MAX_STEP_UPS else []


def _levels(m: Moment, c: Change) -> tuple[int, int]:
    before = m.previous.prescription(c.exercise or "", c.block) if m.previous else None
    after = m.routine.prescription(c.exercise or "", c.block)
    return (
        before.variation_level if before else 0,
        after.variation_level if after else 0,
    )


def one_dimension_per_change(m: Moment) -> list[str]:
    """P5 ("never two dimensions at once") and D12 (easing back changes one dimension, never
    reps and sets together)."""
    out = []
    touched: dict[str | None, int] = {}
    for c in m.new_changes:
        touched[c.exercise] = touched.get(c.exercise, 0) + 1
    for c in m.new_changes:
        if c.direction not in ("up", "down") or c.before is None or c.after is None:
            continue
        if touched[c.exercise] > 1:
            continue  # two changes of one exercise in one event: levels cannot be told apart
        up, down = doses.changed_dimensions(c.before, c.after, *_levels(m, c))
        moved = up if c.direction == "up" else down
        if len(moved) > 1 or (up and down and c.direction == "down"):
            out.append(f"{c.rule} {c.direction} of {c.exercise} changed {up + down}")
    return out


def first_external_load_comes_alone(m: Moment) -> list[str]:
    """D17: the first external load comes alone, with reps back at 8, never with a new variation."""
    out = []
    for c in m.ups():
        if c.before is None or c.after is None or c.before.load_kg or not c.after.load_kg:
            continue
        lb, la = _levels(m, c)
        if la != lb:
            out.append(f"{c.exercise} got its first load together with a new variation")
        if c.after.reps not in (None, doses.STRENGTH_REPS[0]):
            out.append(f"{c.exercise} got its first load at {c.after.reps} reps")
    return out


def no_step_up_after_24_hour_pain(m: Moment) -> list[str]:
    """R2/D12: after pain lasting 24 hours (usual + 2 or red), nothing progresses at the next
    session."""
    if m.session is None or m.memory.r2_pending is None:
        return []
    return [f"{c.exercise} stepped up at the session after 24-hour pain" for c in m.ups()]


def r2_fires_only_on_lasting_exercise_pain(m: Moment) -> list[str]:
    """D12: R2 fires when pain 24 hours after is at or above usual + 2, or red."""
    out = []
    for c in m.new_changes:
        if c.rule != "R2":
            continue
        reports = [p for p in m.record.pain if p.event_id in c.caused_by]
        if reports and not any(
            p.score >= m.record.usual_pain + 2 or p.score > AMBER_MAX for p in reports
        ):
            out.append(
                f"R2 on {c.exercise} after 24-hour pain of {max(p.score for p in reports)} (usual {m.record.usual_pain})"
            )
    return out


ROUTINE_CHECKS: dict[str, tuple[str, Check]] = {
    f.__name__: (rule, f)
    for rule, f in (
        ("P2/P3", reps_within_range),
        ("S2/D1", s2_no_loaded_twisting_before_its_gates),
        ("S2/D2", s2_no_running_before_its_gates),
        ("S2/D2", s2_no_high_impact_before_its_gates),
        ("R6/B2", red_flag_pauses_until_reviewed),
        ("D20", weekly_cardio_at_most_150_min),
        ("D11", session_within_budget),
        ("P3/F2", no_strength_or_core_on_consecutive_days),
        ("Dec", plan_starts_at_the_instant_asked),
        ("all", every_change_names_its_rule_and_causes),
        ("D20", every_dose_has_a_way_up),
        ("Dec", ease_back_never_below_first_load),
        ("Dec", one_interval_form_at_a_time),
        ("D18", interval_hard_parts_capped),
        ("D19", pool_user_is_offered_swimming),
        ("D15", over_performance_is_told),
        ("B4/D14", acute_chronic_ratio_at_most_1_5),
        ("P2", load_steps_at_most_10_percent_in_half_kg),
        ("P1/P3", hold_steps_at_most_10_s),
        ("P5/D22", one_step_per_7_local_days),
        ("D11", at_most_3_step_ups_per_session),
        ("P5/D12", one_dimension_per_change),
        ("D17", first_external_load_comes_alone),
        ("R2/D12", no_step_up_after_24_hour_pain),
        ("D12", r2_fires_only_on_lasting_exercise_pain),
    )
}
