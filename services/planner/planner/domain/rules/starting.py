"""S1-S3: where a routine starts, and what every routine holds."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from math import floor
from typing import Any

from planner.domain import rules_table as t
from planner.domain.evidence import quiet_weeks
from planner.domain.exercises import (
    BLOCK_KIND,
    COOLDOWN_EXERCISE,
    EXERCISES,
    STARTING_CARDIO,
    STARTING_CORE,
    STARTING_STRENGTH,
    STARTING_STRETCHES,
    WARMUP_EXERCISE,
)
from planner.domain.routine import Dose, HeldOut
from planner.domain.session_time import budget_min, estimate_min
from planner.domain.state import State, Why


def s1_baseline(
    state: State, causes: tuple[str, ...], at: datetime, baseline: Mapping[str, Any] | None
) -> None:
    """S1: the first routine, from the baseline when there is one, else the most conservative doses."""
    state.tracks.clear()
    state.held_out.clear()
    contraindicated = {str(c) for c in (baseline or {}).get("contraindications", ())}
    why = (
        "From your baseline assessment: a conservative start."
        if baseline is not None
        else "No baseline assessment yet: the most conservative starting doses."
    )
    plans: list[tuple[str, str, Dose, int]] = []
    for slug in STARTING_STRETCHES:
        plans.append(
            (
                slug,
                "stretching",
                Dose(
                    hold_s=t.P1_HOLD_START_S,
                    sets=t.P1_STRETCH_SETS,
                    sessions_per_week=t.P4_SESSIONS_PER_WEEK,
                ),
                0,
            )
        )
    for slug in STARTING_STRENGTH:
        plans.append(
            (
                slug,
                "strength",
                Dose(
                    sets=t.P2_SETS_START,
                    reps=t.P2_REPS_MIN,
                    sessions_per_week=t.F1_MIN_SESSIONS_PER_WEEK,
                ),
                0,
            )
        )
    for slug in STARTING_CORE:
        plans.append((slug, "core", _core_start(slug, baseline), _core_level(slug, baseline)))
    plans.extend(_d19_cardio(baseline, contraindicated))
    for slug, block, dose, level in plans:
        if slug in contraindicated:
            state.held_out[(block, slug)] = _held(slug, block, causes)
            continue
        state.add(
            EXERCISES[slug],
            block=block,
            kind=_kind(block),
            dose=dose,
            level=level,
            why=Why("D19", _SWIM, causes, at) if slug == "swimming" else Why("S1", why, causes, at),
        )
    s3_warmup_cooldown(state, causes, at)
    d11_fit_the_budget(state, causes, at)


_SWIM = "You have a pool: easy swimming takes two of your weekly walks, for the same minutes."


def _d19_cardio(
    baseline: Mapping[str, Any] | None, contraindicated: set[str]
) -> list[tuple[str, str, Dose, int]]:
    """P4 low-impact cardio; D19: with a pool, swimming takes some of the walks (same minutes)."""
    minutes = _walk_start(baseline)
    pool = "pool" in {str(a) for a in (baseline or {}).get("access") or ()}
    swims = t.D19_SWIM_SESSIONS_PER_WEEK if pool and "swimming" not in contraindicated else 0
    plans = [
        (
            slug,
            "cardio",
            Dose(duration_min=minutes, sessions_per_week=t.P4_SESSIONS_PER_WEEK - swims),
            0,
        )
        for slug in STARTING_CARDIO
    ]
    if swims:
        plans.append(("swimming", "cardio", Dose(duration_min=minutes, sessions_per_week=swims), 0))
    return plans


# D11: what a starting routine leaves out, first, when it would not fit the session budget: one
# exercise at a time from the block that has most, the last of its list first.
_FIT_BLOCKS = ("stretching", "strength", "core")


def d11_fit_the_budget(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """D11: the first routine fits the session budget the baseline sets."""
    budget = budget_min(state.baseline)
    catalogue = list(EXERCISES)
    while estimate_min((k[0], tr.rx.dose) for k, tr in state.tracks.items()) > budget:
        blocks = [b for b in _FIT_BLOCKS if any(k[0] == b for k in state.tracks)]
        if not blocks:
            _fit_cardio(state, budget, Why("D11", _SHORTER.format(budget=budget), causes, at))
            return
        block = max(
            blocks, key=lambda b: (sum(k[0] == b for k in state.tracks), -_FIT_BLOCKS.index(b))
        )
        key = max((k for k in state.tracks if k[0] == block), key=lambda k: catalogue.index(k[1]))
        state.hold_out(
            key,
            why=Why(
                "D11",
                f"Left out for now to keep your session within {budget} minutes.",
                causes,
                at,
            ),
        )


_SHORTER = "Shorter for now, to keep your session within {budget} minutes."


def _fit_cardio(state: State, budget: int, why: Why) -> None:
    """With nothing else left to leave out, cardio starts shorter (never below a 5-minute bout)."""
    for key in sorted(k for k in state.tracks if k[0] == "cardio"):
        track = state.tracks[key]
        over = estimate_min((k[0], tr.rx.dose) for k, tr in state.tracks.items()) - budget
        minutes = track.rx.dose.duration_min
        if over <= 0 or minutes is None:
            return
        step = t.P4_MINUTE_STEP
        shorter = max(t.P4_BOUT_MIN, floor((minutes - over) / step) * step)
        if shorter < minutes:
            state.change(
                track,
                why=why,
                dose=replace(track.rx.dose, duration_min=float(shorter)),
                level=track.rx.variation_level,
                direction="set",
            )


def _held(slug: str, block: str, causes: tuple[str, ...]) -> HeldOut:
    return HeldOut(
        slug, block, "S1", "Left out: your assessment lists it as a contraindication.", causes
    )


def _kind(block: str) -> str:
    return BLOCK_KIND[block]


def _core_start(slug: str, baseline: Mapping[str, Any] | None) -> Dose:
    if EXERCISES[slug].measure == "hold":
        return Dose(
            hold_s=t.P3_PLANK_START_S,
            sets=t.P3_SETS_START,
            sessions_per_week=t.F1_MIN_SESSIONS_PER_WEEK,
        )
    return Dose(
        sets=t.P3_SETS_START, reps=t.P3_REPS_MIN, sessions_per_week=t.F1_MIN_SESSIONS_PER_WEEK
    )


def _core_level(slug: str, baseline: Mapping[str, Any] | None) -> int:
    # A full plank only for someone who already holds one for the P3 starting time.
    plank_s = (baseline or {}).get("plank_s")
    if slug == "plank" and plank_s is not None and float(plank_s) >= t.P3_PLANK_START_S:
        return 1
    return 0


def _walk_start(baseline: Mapping[str, Any] | None) -> float:
    walk = (baseline or {}).get("walk_min")
    if walk is None:
        return t.P4_BOUT_MIN
    half = floor(float(walk) * t.P4_BASELINE_FRACTION / t.P4_MINUTE_STEP) * t.P4_MINUTE_STEP
    return float(min(t.P4_START_CAP_MIN, max(t.P4_BOUT_MIN, half)))


def s2_low_impact_first(state: State, slug: str, at: datetime) -> bool:
    """S2: may this exercise be offered now? High impact needs 8 weeks pain-free and a clearance (D2)."""
    ex = EXERCISES[slug]
    if not ex.high_impact:
        return True
    if state.days_since_start(at) < t.S2_HIGH_IMPACT_AFTER_DAYS:
        return False
    # Finding 3: eight weeks of logged sessions without pain, not eight weeks of silence.
    return quiet_weeks(
        state, at, t.S2_HIGH_IMPACT_AFTER_DAYS // 7, t.ZONE_GREEN_MAX
    ) and state.cleared("high_impact")


def s3_warmup_cooldown(state: State, causes: tuple[str, ...], at: datetime) -> None:
    """S3: every session starts with >= 10 min of warm-up and ends with a 5-10 min cool-down."""
    if ("warmup", WARMUP_EXERCISE) not in state.tracks:
        state.add(
            EXERCISES[WARMUP_EXERCISE],
            block="warmup",
            kind="warmup",
            dose=Dose(duration_min=t.S3_WARMUP_MIN),
            level=0,
            why=Why(
                "S3",
                f"Every session starts with at least {t.S3_WARMUP_MIN} minutes of easy walking "
                "or marching on the spot, arm circles and shoulder shrugs.",
                causes,
                at,
            ),
        )
    if ("cooldown", COOLDOWN_EXERCISE) not in state.tracks:
        state.add(
            EXERCISES[COOLDOWN_EXERCISE],
            block="cooldown",
            kind="cooldown",
            dose=Dose(duration_min=t.S3_COOLDOWN_MIN),
            level=0,
            why=Why(
                "S3",
                f"Every session ends with {t.S3_COOLDOWN_MIN}-{t.S3_COOLDOWN_MAX} minutes of "
                "light stretches, such as hamstring and shoulder stretches.",
                causes,
                at,
            ),
        )
