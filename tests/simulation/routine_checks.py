"""The invariants of DOMAIN.md that hold for every routine, one small function each, named after
what it checks. Each reads a `Moment` and returns its findings, each a short sentence."""

import itertools
from datetime import date, timedelta

from planner.domain.routine import Prescription
from planner.domain.rules_table import RULES
from tests.simulation import doses
from tests.simulation.moment import (
    ACWR_MAX,
    EARLY_PHASE,
    FIRST_LOAD_KG,
    HIGH_IMPACT,
    HIGH_IMPACT_AFTER,
    RUNNING,
    TWISTING,
    Moment,
)
from tests.simulation.record import AMBER_MAX, GREEN_MAX


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


def _days_since_start(m: Moment) -> int:
    """Days since the first event, the more generous of instants and local calendar days."""
    instants = (m.at - m.record.start).days
    local = (m.local_day(m.at) - m.local_day(m.record.start)).days
    return max(instants, local)


def s2_no_loaded_twisting_before_its_gates(m: Moment) -> list[str]:
    """D1/S2: bicycle crunches enter after the early phase (4 weeks) and 2 evidence weeks with no
    amber or red pain; they are parked while the last 7 days held pain above green."""
    out = []
    for rx in _entering(m, TWISTING):
        if _days_since_start(m) < EARLY_PHASE.days:
            out.append(
                f"{rx.exercise} entered on day {_days_since_start(m)}, inside the early phase"
            )
        elif not m.record.quiet_evidence_weeks(m.at, 2, GREEN_MAX, m.patient.clock.zone):
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
    for rx in _entering(m, RUNNING):
        if _days_since_start(m) < EARLY_PHASE.days:
            out.append(
                f"{rx.exercise} entered on day {_days_since_start(m)}, inside the early phase"
            )
        elif not m.record.quiet_evidence_weeks(m.at, 4, AMBER_MAX, m.patient.clock.zone):
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
        elif _days_since_start(m) < HIGH_IMPACT_AFTER.days:
            out.append(f"{rx.exercise} entered before week 8")
        elif not m.record.quiet_evidence_weeks(m.at, 8, GREEN_MAX, m.patient.clock.zone):
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


def _planned_days(m: Moment, rx: Prescription) -> int:
    name = f"{rx.block}:{rx.exercise}"
    return sum(
        1 for d in m.routine.weekly_plan.get("days") or [] if name in (d.get("exercises") or ())
    )


def weekly_cardio_at_most_150_min(m: Moment) -> list[str]:
    """D20: prescribed cardio stops growing at 150 minutes a week: by the doses (minutes x
    sessions a week) and by the weekly plan a patient follows."""
    out = []
    minutes = doses.weekly_cardio_minutes(m.routine)
    if minutes > doses.WEEKLY_CARDIO_CAP_MIN + 1e-9:
        out.append(f"{minutes:g} min of cardio a week prescribed")
    planned = sum(
        doses.minutes_of(rx.dose) * _planned_days(m, rx)
        for rx in m.prescriptions()
        if rx.block == "cardio"
    )
    if planned > doses.WEEKLY_CARDIO_CAP_MIN + 1e-9:
        out.append(f"the weekly plan holds {planned:g} min of cardio")
    return out


def the_plan_keeps_to_sessions_per_week(m: Moment) -> list[str]:
    """A dose names its sessions a week: the weekly plan schedules an exercise on at most that
    many days."""
    out = []
    for rx in m.prescriptions():
        wanted = rx.dose.sessions_per_week
        days = _planned_days(m, rx)
        if wanted is not None and days > wanted:
            out.append(
                f"{rx.block}:{rx.exercise} planned on {days} days, {wanted} a week prescribed"
            )
    return out


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


def two_rest_days_a_week_when_the_plan_is_followed(m: Moment) -> list[str]:
    """F2: 2-3 full rest days a week. A patient who trains only on the days its plans name
    still gets at least 2 rest days in any 7 local days."""
    if m.session is None:
        return []
    week = [s for s in m.record.sessions if (m.session.day - s.day).days < 7]
    if any(s.planned_kind not in ("full", "light") for s in week):
        return []
    trained = {s.day for s in week}
    first = m.record.sessions[0].day
    if (m.session.day - first).days >= 6 and len(trained) > 5:
        return [
            f"{len(trained)} training days in the 7 days to {m.session.day}, following the plan"
        ]
    return []


def plan_starts_at_the_instant_asked(m: Moment) -> list[str]:
    """December: the weekly plan and the next session start from the instant asked (today in
    the patient's calendar, or tomorrow once today's session is done)."""
    if not m.active:
        return []
    today = m.local_day(m.at)
    plan = m.routine.weekly_plan
    out = []
    nxt = (plan.get("next_session") or {}).get("date")
    if nxt is not None and date.fromisoformat(nxt) < today:
        out.append(f"next session {nxt} is before today {today}")
    days = plan.get("days") or []
    if days:
        first = date.fromisoformat(days[0]["date"])
        if not today <= first <= today + timedelta(days=1):
            out.append(f"the weekly plan starts {first}, today is {today}")
    return out


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
    """D19: with `access` including `pool`, swimming is offered beside walking (from the third
    week at the latest: DOMAIN.md does not say it must be in the very first routine)."""
    if "pool" not in m.patient.access or not m.active or _days_since_start(m) < 14:
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


_BREAK_DAYS = 14  # D14


def _window_lacks_data(m: Moment) -> bool:
    """DOMAIN.md: the ratio is used only once 28 days of data exist. A 28-day window that a D14
    break (14+ days without a session, a red-flag pause too) reaches into does not hold them:
    the weeks after a return are measured against empty weeks, and even a steady, lighter dose
    reads 4, then 2 (D14 steps the doses down and B4 guards the ramp instead)."""
    assert m.session is not None
    first = m.session.day - timedelta(days=27)
    days = [s.day for s in m.record.sessions if s.at <= m.at]
    before = [d for d in days if d < first][-1:]
    window = [*before, *(d for d in days if d >= first)]
    return any((b - a).days >= _BREAK_DAYS for a, b in itertools.pairwise(window))


_WIDE = timedelta(days=30)  # more than 28 local days, whatever the offsets


def acute_chronic_ratio_at_most_1_5(m: Moment) -> list[str]:
    """B4/D14: the 7:28-day ratio of the prescribed load (RPE x estimated minutes of what was
    prescribed and done), once 28 days of data exist, stays at or below 1.5. When the 21 days
    before the last 7 hold no load at all the ratio is 4 whatever the dose: not judged; nor when
    a D14 break reaches into the window (it does not hold 28 days of data)."""
    if m.session is None:
        return []
    sessions = m.record.sessions
    if m.at - sessions[0].at < timedelta(days=28):
        return []
    # 7 and 28 days of the local calendar (DOMAIN.md, "Calendar"; D22), not 168 and 672 hours:
    # sessions an hour later in the day must not make an 8-day week
    ago = [(m.session.day - s.day).days for s in m.record.sessions_between(m.at - _WIDE, m.at)]
    loads = [s.prescribed_load for s in m.record.sessions_between(m.at - _WIDE, m.at)]
    acute = sum(load for days, load in zip(ago, loads, strict=True) if 0 <= days < 7)
    base = sum(load for days, load in zip(ago, loads, strict=True) if 7 <= days < 28)
    if base <= 0 or _window_lacks_data(m):
        m.memory.acwr_skipped += 1
        return []
    ratio = acute / ((acute + base) / 4)
    if ratio > ACWR_MAX + 1e-9:
        return [f"acute:chronic ratio {ratio:.2f} of what was prescribed"]
    return []


def r3_core_held_out_until_a_core_clearance(m: Moment) -> list[str]:
    """R3: after a flare-up from core work, no core exercise until a clinician clears core."""
    if m.memory.core_flare_since is None:
        return []
    return [
        f"{rx.exercise} prescribed after a core flare, before a core clearance"
        for rx in _present_block(m, "core")
    ]


def _present_block(m: Moment, block: str) -> list[Prescription]:
    return [rx for rx in m.prescriptions() if rx.block == block]


PLATEAU = timedelta(days=28)


def d10_a_plateau_is_reviewed(m: Moment) -> list[str]:
    """D10: four weeks of sessions with no step-up (pauses aside) add advice to review the
    routine with a physiotherapist."""
    if m.session is None or m.ups() or m.at - m.record.start < PLATEAU:
        return []
    mem = m.memory
    if mem.resumed_at is not None and m.at - mem.resumed_at < PLATEAU:
        return []
    if mem.last_up and max(mem.last_up.values()) >= m.at - PLATEAU:
        return []
    for k in range(4):
        end = m.at - timedelta(days=7 * k)
        if not m.record.sessions_between(end - timedelta(days=7), end):
            return []  # not four weeks of sessions
    weekly = doses.weekly_cardio_minutes(m.routine)
    if not any(
        doses.has_way_up(rx, weekly) and not doses.maintenance_of(rx)
        for rx in m.prescriptions()
        if rx.block in doses.PROGRESSED_BLOCKS
    ):
        return []
    if not any(a.rule == "D10" for a in m.routine.advice):
        return ["four weeks of sessions without a step-up and no D10 review advice"]
    return []


def _stated_estimate(m: Moment) -> object:
    """D11's session estimate as the routine states it, wherever the rules put it: a field of the
    routine, of a planned day or of the next session whose name says "estimat"."""
    for name in dir(m.routine):
        if "estimat" in name and not name.startswith("_"):
            return getattr(m.routine, name)
    plan = m.routine.weekly_plan
    for holder in [plan, plan.get("next_session") or {}, *(plan.get("days") or [])]:
        for key, value in holder.items():
            if "estimat" in key:
                return value
    return None


def the_routine_states_its_session_estimate(m: Moment) -> list[str]:
    """D11: a training session has an estimated time; a routine that states one agrees with
    D11's way of estimating it (within 10 %). None stated: D11 is not implemented."""
    if not m.active:
        return []
    stated = _stated_estimate(m)
    if stated is None:
        return ["the routine states no session estimate (D11 not implemented)"]
    mine = doses.session_minutes(full_day(m))
    if isinstance(stated, int | float) and abs(float(stated) - mine) > 0.1 * mine:
        return [f"the routine estimates {stated} min, D11's estimate is {mine:.1f} min"]
    return []
