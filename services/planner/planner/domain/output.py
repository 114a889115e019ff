"""From the working state to the routine a user sees."""

from datetime import datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.exercises import BLOCKS, EXERCISES
from planner.domain.holds import holding
from planner.domain.ladder import Top, next_step
from planner.domain.load import acwr
from planner.domain.routine import JSON, Advice, Block, Hold, Prescription, Routine
from planner.domain.rules.breaks import d14_as_of
from planner.domain.rules.deload import deload_due
from planner.domain.rules.goals import g1_goal_progress
from planner.domain.rules.plan_advice import (
    d10_plateau_review,
    d15_stay_with_the_plan,
    d16_rest_between_hard_days,
)
from planner.domain.rules.progression import PlannedDay
from planner.domain.rules.recovery import (
    f1_f2_weekly_plan,
    f1_too_few_sessions,
    f3_cold_and_heat,
)
from planner.domain.rules_table import RULES_VERSION
from planner.domain.session_time import budget_min, routine_estimate_min
from planner.domain.state import State

_ORDER = {slug: i for i, slug in enumerate(EXERCISES)}

# D3: the seed's "stop" wording, shown as a red warning rather than applied to every twinge.
_STOP_WORDING = Advice(
    "D3",
    "caution",
    "Stop an exercise at once if pain is sharp or extreme (6/10 or more). "
    "Some discomfort up to 5/10 is acceptable if it settles by the next morning.",
)


def build_routine(state: State, as_of: datetime) -> Routine:
    state = d14_as_of(state, as_of)
    paused = state.paused is not None
    blocks: list[Block] = []
    if not paused:  # R6: exercise is never prescribed around a red flag
        for name in BLOCKS:
            rxs = sorted(
                (tr.rx for (block, _), tr in state.tracks.items() if block == name),
                key=lambda rx: _ORDER[rx.exercise],
            )
            if rxs:
                blocks.append(Block(name, tuple(rxs)))
    day = PlannedDay(state)
    plan = f1_f2_weekly_plan(state, as_of)
    blocks = [
        Block(
            b.block,
            tuple(
                p.marked(state.tracks[(p.block, p.exercise)].hold, _maintenance(state, day, p))
                for p in b.prescriptions
            ),
        )
        for b in blocks
    ]
    return Routine(
        rules_version=RULES_VERSION,
        status="paused" if paused else "active",
        pause_reason=state.paused.reason if state.paused else None,
        blocks=tuple(blocks),
        advice=tuple(advice(state, as_of) + progression_advice(state, as_of)),
        weekly_plan=plan,
        changes=tuple(state.changes),
        held_out=tuple(state.held_out[k] for k in sorted(state.held_out)),
        goals=tuple(g1_goal_progress(state, as_of)),
        deload=_deload(state),
        session_estimate_min=_d11_estimate(blocks, plan),
        session_budget_min=budget_min(state.baseline),
        based_on={
            "events": state.event_count,
            "last_event_id": None if state.last_event is None else state.last_event.event_id,
            "last_event_at": None
            if state.last_event is None
            else state.last_event.occurred_at.isoformat(),
        },
    )


def _maintenance(state: State, day: PlannedDay, rx: Prescription) -> Hold | None:
    """A prescription's maintenance mark, worked out once while the planned day stands: it
    depends on nothing else than the prescription's dose and that day."""
    if state.marks is None or state.marks[0] != day.signature:
        state.marks = (day.signature, {})
    marks = state.marks[1]
    key = (rx.block, rx.exercise, rx.dose, rx.variation_level)
    if key not in marks:
        marks[key] = _mark(state, day, rx)
    return marks[key]


def _mark(state: State, day: PlannedDay, rx: Prescription) -> Hold | None:
    """The maintenance mark: the top of its ladder or the week's cardio cap (D20), or a next
    step the session budget does not take (D11: while the budget stands there is no way up, so
    it is declared, not left stuck)."""
    step = next_step(EXERCISES[rx.exercise], rx.dose, rx.variation_level)
    if isinstance(step, Top):
        return Hold(step.rule, step.reason) if step.rule == "D20" else None
    if rx.block == "cardio":
        grown = day.weekly_cardio_min - rx.dose.weekly_minutes() + step.dose.weekly_minutes()
        if grown > t.D20_WEEKLY_CARDIO_CAP_MIN:
            return holding("d20_weekly_cardio")
    admits = day.admits(state.tracks[(rx.block, rx.exercise)], step.dose)
    if admits is not None and admits.rule == "D11":
        return holding("d11_budget_ceiling", budget=day.budget)
    return None


def _d11_estimate(blocks: list[Block], plan: JSON) -> float:
    """D11: the longest full training day of the weekly plan (every prescription without one)."""
    rxs = [p for b in blocks for p in b.prescriptions]
    # full days doing the same exercises take as long: each set of them is estimated once
    days = {frozenset(d["exercises"]) for d in plan.get("days") or () if d.get("day") == "full"}
    if not days:
        return round(routine_estimate_min(rxs), 1)
    return round(
        max(routine_estimate_min(p for p in rxs if f"{p.block}:{p.exercise}" in d) for d in days),
        1,
    )


def progression_advice(state: State, as_of: datetime) -> list[Advice]:
    """D10, D15, D16: how the plan is going."""
    found = (d10_plateau_review(state, as_of), d15_stay_with_the_plan(state))
    return [a for a in (*found, d16_rest_between_hard_days(state)) if a is not None]


def advice(state: State, as_of: datetime) -> list[Advice]:
    """What the routine says beside its doses, as it stands at `as_of` (finding 10)."""
    out: list[Advice] = []
    if state.paused is not None:
        pause = state.paused
        out.append(Advice("R6", pause.tier, pause.reason, pause.causes))
        return out
    if state.core_flare is not None:
        out.append(
            Advice(
                "R3",
                "caution",
                "Core exercises caused a flare-up: speak to a doctor before doing them again.",
                state.core_flare.causes,
            )
        )
    for rule in (f3_cold_and_heat(state, as_of), f1_too_few_sessions(state, as_of)):
        if rule is not None:
            out.append(rule)
    if state.last_event is not None:
        ratio = acwr(state.loads, as_of)[2]
        if ratio is not None and ratio > t.B4_MAX_RATIO:
            out.append(
                Advice(
                    "B4",
                    "caution",
                    f"This week's load is {ratio:.2f} times your recent average: keep "
                    "to the plan and add nothing extra until it settles.",
                )
            )
    if any(tr.hold is not None and tr.hold.rule == "R5" for tr in state.tracks.values()):
        out.append(
            Advice("R5", "info", "Pain limited some exercises: keep their dose and focus on form.")
        )
    out.append(_STOP_WORDING)
    return out


def _deload(state: State) -> JSON:
    if state.deload_from is not None:
        return {
            "active": True,
            "from": state.deload_from.isoformat(),
            "until": (state.deload_from + timedelta(days=7)).isoformat(),
            "rule": "B3",
        }
    due = deload_due(state)
    return {
        "active": False,
        "due_from": None if due is None or state.steps_in_epoch == 0 else due.isoformat(),
        "rule": "B3",
    }
