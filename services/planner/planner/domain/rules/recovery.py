"""F1-F3: how often to train, when to rest, and what to do for a flare (shown, never progressed)."""

from datetime import date, datetime, timedelta

from planner.domain import rules_table as t
from planner.domain.routine import JSON, Advice
from planner.domain.session_time import dose_minutes, takes_turns
from planner.domain.state import State

FULL, LIGHT, REST = "full", "light", "rest"
_FULL_BLOCKS = ("warmup", "stretching", "strength", "core", "cardio", "cooldown")
_LIGHT_BLOCKS = ("warmup", "stretching", "cardio", "cooldown")


def _is_full(state: State, session_id: str) -> bool:
    return any(k[0] in ("strength", "core") for k in state.sessions[session_id].entries)


def f1_f2_weekly_plan(state: State, as_of: datetime) -> JSON:
    """F1: >= 3 sessions; F2: 2-3 rest days; P3: strength and core never on consecutive days.

    The week starts the day after the last logged session (or on the first day of the routine),
    and never before the day asked about (finding 10): a plan never starts in the past.
    """
    if state.paused is not None:
        return {
            "days": [],
            "next_session": None,
            "sessions_per_week": 0,
            "rest_days": 7,
            "note": "Paused: no training until a medical professional has seen you.",
        }
    last_full: date | None = None
    for sid in reversed(state.session_order):  # the last full session's day
        if _is_full(state, sid):
            last_full = state.sessions[sid].day
            break
    if state.session_order:
        start = state.sessions[state.session_order[-1]].day + timedelta(days=1)
    else:
        start = (
            state.local_date(state.started_at) if state.started_at is not None else date(1970, 1, 1)
        )
    start = max(start, state.local_date(as_of))
    days: list[JSON] = []
    full = light = 0
    previous = FULL if last_full is not None and (start - last_full).days == 1 else REST
    # F2 over any 7 days: the days already trained count, since a plan starts again after each
    # session (a plan counting only its own week let a patient who followed it train daily)
    training = {s.day for s in state.sessions_from_day(start - timedelta(days=6))}
    due = {REST: [], FULL: _due(state, FULL), LIGHT: _due(state, LIGHT)}
    for offset in range(7):
        day = start + timedelta(days=offset)
        recent = sum(1 for d in training if 0 < (day - d).days < 7)
        if recent >= 7 - t.F2_REST_DAYS_MIN:
            kind = REST
        elif (
            last_full is None or (day - last_full).days >= 2
        ) and full < t.F1_MIN_SESSIONS_PER_WEEK:
            kind = FULL
            full += 1
            last_full = day
        elif previous == FULL and light < 7 - t.F1_MIN_SESSIONS_PER_WEEK - t.F2_REST_DAYS_MAX:
            kind = LIGHT
            light += 1
        else:
            kind = REST
        previous = kind
        if kind != REST:
            training.add(day)
        days.append({"date": day.isoformat(), "day": kind, "exercises": list(due[kind])})
    _share_cardio(state, days)
    nxt = next((d for d in days if d["day"] != REST), None)
    return {
        "days": days,
        "next_session": None
        if nxt is None
        else {"date": nxt["date"], "day": nxt["day"], "exercises": nxt["exercises"]},
        "sessions_per_week": full + light,
        "strength_core_days": full,
        "rest_days": 7 - full - light,
        "note": "On rest days a light walk or foam rolling is fine; it does not count as a training day.",
    }


def _share_cardio(state: State, days: list[JSON]) -> None:
    """Cardio done fewer times a week than there are training days (swimming beside walking,
    D19; intervals beside runs) takes turns: one of them a day, each as often as prescribed."""
    training = [d for d in days if d["day"] != REST]
    shared = {
        f"{key[0]}:{key[1]}": tr.rx.dose.sessions_per_week or 0
        for key, tr in sorted(state.tracks.items())
        if takes_turns(key[0], tr.rx.dose)
    }
    left = dict(shared)
    minutes = {
        f"{key[0]}:{key[1]}": dose_minutes(tr.rx.dose)
        for key, tr in state.tracks.items()
        if f"{key[0]}:{key[1]}" in shared
    }
    # Full days first, so that the longest of them holds the longest cardio (D11's estimate).
    for day in sorted(training, key=lambda d: d["day"] != FULL):
        here = [name for name in day["exercises"] if name in shared and left[name] > 0]
        pick = max(
            here, key=lambda name: (left[name], minutes[name], -here.index(name)), default=None
        )
        day["exercises"] = [n for n in day["exercises"] if n not in shared or n == pick]
        if pick is not None:
            left[pick] -= 1


def _due(state: State, kind: str) -> list[str]:
    blocks = _FULL_BLOCKS if kind == FULL else _LIGHT_BLOCKS
    tracks = sorted(state.tracks)
    keys = [k for b in blocks for k in tracks if k[0] == b]
    return [f"{block}:{exercise}" for block, exercise in keys]


def f1_too_few_sessions(state: State, as_of: datetime) -> Advice | None:
    """F1: fewer than 3 sessions in the 7 days up to the instant asked about (finding 10)."""
    if state.last_event is None or state.paused is not None or state.started_at is None:
        return None
    end = as_of
    if end - state.started_at < timedelta(days=7):
        return None
    count = len(state.sessions_after(end - timedelta(days=7), end))
    if count >= t.F1_MIN_SESSIONS_PER_WEEK:
        return None
    return Advice(
        "F1",
        "info",
        f"Only {count} session(s) in the last 7 days: aim for at least "
        f"{t.F1_MIN_SESSIONS_PER_WEEK} a week.",
    )


def f3_cold_and_heat(state: State, as_of: datetime) -> Advice | None:
    """F3: for 72 hours after a flare, cold 15 minutes on and 10 off, wrapped; heat afterwards.

    The 72 hours run on the clock of the instant asked about, not the next event (finding 10).
    """
    if not state.flares:
        return None
    flare = state.flares[-1]
    if as_of - flare.at > timedelta(hours=t.F3_COLD_WINDOW_HOURS):
        return None
    return Advice(
        "F3",
        "caution",
        f"For the flare-up: a cold pack within {t.F3_COLD_WINDOW_HOURS} hours, {t.F3_COLD_ON_MIN} minutes "
        f"on and {t.F3_COLD_OFF_MIN} minutes off, wrapped in cloth, never on bare skin. Heat afterwards, "
        "never on an infected joint.",
        (flare.event_id,),
    )
