"""The invariants of DOMAIN.md about what one event must (or must not) change: each step-up as
it is made, each ease-back, what pain and clearances do, and the event's own contract."""

from dataclasses import replace
from fractions import Fraction

from backtrack_shared.contracts.registry import LATEST_VERSIONS, payload_schema
from planner.domain.routine import Change, Prescription
from tests.simulation import doses
from tests.simulation.moment import (
    HIGH_IMPACT,
    MAX_STEP_UPS,
    RUNNING,
    TWISTING,
    Moment,
    at_bottom,
)
from tests.simulation.record import AMBER_MAX, DURING


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
    """P5/D22: an exercise steps up at most once per 7 local days (its first step counts from
    when it was added)."""
    out = []
    for c in m.ups():
        key = (c.block or "", c.exercise or "")
        last = m.memory.last_up.get(key) or m.memory.added_at.get(key)
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
            out.append(f"{c.exercise} got its first load with a new variation (level {lb} -> {la})")
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


def r1_red_pain_regresses_the_exercise(m: Moment) -> list[str]:
    """R1/D21: red pain during a named exercise regresses it (or stops it) next time, even when
    the report names no session and comes hours later (it finds the latest session with that
    exercise in the 24 hours before it)."""
    p = m.event.payload
    if m.event.type != "pain.reported" or p.get("timing") not in DURING or not p.get("exercise"):
        return []
    if int(p["score"]) <= AMBER_MAX or not m.active:
        return []
    rx = m.prescription(str(p["exercise"]))
    about = m.record.pain[-1].session_id
    session = m.record.session(about)
    if rx is None or session is None:
        return []
    last = rx.last_change
    if m.event.event_id in last.caused_by or (last.rule == "R1" and last.at >= session.at):
        return []
    if at_bottom(rx) and rx.hold is not None and rx.hold.rule == "R1":
        return []
    named = "naming its session" if p.get("session_id") else "naming no session"
    return [f"red pain {p['score']} on {rx.exercise} ({named}) left it at {rx.dose.to_dict()}"]


def d13_flare_eases_what_caused_it(m: Moment) -> list[str]:
    """D13: a flare attributed to strength, stretch or cardio eases that kind one step."""
    cause = m.event.payload.get("flare_up_cause") if m.event.type == "pain.reported" else None
    if cause not in ("strength", "stretch", "cardio") or not m.active:
        return []
    block = "stretching" if cause == "stretch" else cause
    return [
        f"a {cause} flare left {rx.exercise} at {rx.dose.to_dict()}"
        for rx in m.prescriptions()
        if rx.block == block
        and m.event.event_id not in rx.last_change.caused_by
        and not at_bottom(rx)
    ]


def _covered(scopes: tuple[str, ...], block: str, exercise: str) -> bool:
    return (
        "red_flag_reviewed" in scopes
        or ("core" in scopes and block == "core")
        or ("running" in scopes and exercise in RUNNING)
        or ("loaded_twisting" in scopes and exercise in TWISTING)
        or ("high_impact" in scopes and exercise in HIGH_IMPACT)
    )


def a_clearance_resumes_only_what_it_names(m: Moment) -> list[str]:
    """December: a clearance resumes what it names (a core clearance brings back core only)."""
    if m.event.type != "clearance.recorded" or m.previous is None:
        return []
    scopes = tuple(str(s) for s in m.event.payload.get("scopes", ()))
    had = {(rx.block, rx.exercise) for b in m.previous.blocks for rx in b.prescriptions}
    return [
        f"a {'/'.join(scopes)} clearance brought back {rx.block}:{rx.exercise}"
        for rx in m.prescriptions()
        if (rx.block, rx.exercise) not in had and not _covered(scopes, rx.block, rx.exercise)
    ]


def r4_reverts_the_whole_last_step(m: Moment) -> list[str]:
    """R4 (December): a rising trend reverts every exercise stepped up at the most recent session
    that stepped anything, not one of them."""
    reverted = {(c.block or "", c.exercise or "") for c in m.new_changes if c.rule == "R4"}
    if not reverted:
        return []
    missed = sorted(m.memory.last_stepping - reverted)
    if missed:
        return [f"R4 reverted {len(reverted)}, left {len(missed)} of the same step: {missed[:3]}"]
    return []


def _shape(event_type: str, payload: dict[str, object]) -> object:
    """What makes a payload new to the contract: its keys and the words of its vocabularies
    (for a workout: which exercises, of which kinds, with which fields)."""
    if event_type == "workout.logged":
        entries = payload.get("exercises") or []
        assert isinstance(entries, list)
        return frozenset(
            (e["exercise"], e["kind"], frozenset(e), frozenset(k for s in e["sets"] for k in s))
            for e in entries
        )
    words = tuple(
        (k, _word(v) if k in _VOCABULARIES else type(v).__name__)
        for k, v in sorted(payload.items())
    )
    return (event_type, words)


_VOCABULARIES = {
    "timing",
    "exercise",
    "flare_up_cause",
    "red_flags",
    "scopes",
    "kind",
    "metric",
    "period",
    "access",
    "time_zone",
    "flexibility",
    "contraindications",
}


def _word(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def the_contract_accepts_what_the_app_sends(m: Moment) -> list[str]:
    """The shared contracts accept every event the simulator sends (the December decisions add
    `access`, `session_budget_min` and the `red_flag_reviewed` scope). Validation is the slow
    part: each new shape of payload (its keys and vocabulary) is validated once."""
    shape = _shape(m.event.type, dict(m.event.payload))
    if shape in m.memory.contract_shapes:
        return []
    m.memory.contract_shapes.add(shape)
    version = LATEST_VERSIONS.get(m.event.type)
    schema = payload_schema(m.event.type, version) if version is not None else None
    if schema is None:
        return [f"no contract for {m.event.type}"]
    errors = schema().validate(dict(m.event.payload))
    return [f"{m.event.type} v{version} rejects {errors}"] if errors else []


BREAK_DAYS = 14  # D14


def _standing(rx: Prescription) -> Prescription:
    """The dose an exercise stands at: in B3's lighter week the dose the week ends at (the week
    lies over the dose; D14's steps down per week missed are counted from the dose, and one
    ending a break in the lighter week can land exactly on the lighter form)."""
    c = rx.last_change
    if c.rule == "B3" and c.direction == "deload" and c.before is not None:
        return replace(rx, dose=c.before)
    return rx


def d14_back_from_a_break_resumes_lower(m: Moment) -> list[str]:
    """D14: after 14 or more days without a session (a red-flag pause included), every exercise
    resumes one step down per full week missed (at most 3): the first session back is not
    prescribed at the doses of the last one before the break."""
    if m.session is None or len(m.record.sessions) < 2:
        return []
    before = m.record.sessions[-2]
    gap = (m.session.day - before.day).days
    if gap < BREAK_DAYS:
        return []
    out = []
    for key, done in m.session.done.items():
        old = before.done.get(key)
        if old is None or key[0] not in doses.PROGRESSED_BLOCKS:
            continue
        standing = _standing(old.rx)
        if at_bottom(standing):
            continue
        same = done.rx.dose == standing.dose and done.rx.variation_level == standing.variation_level
        if same:
            out.append(f"{key[1]} back after {gap} days at its old dose {old.rx.dose.to_dict()}")
    return out
