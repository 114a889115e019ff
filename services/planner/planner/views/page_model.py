"""What the progress page shows, from what the planner's API answers. Pure.

The page reads the same things a client reads (the routine, its versions, the progress
summary) and the events they were made of, and arranges them for a person: doses in words,
every version's changes beside the events that caused them, and one series per chart.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from planner.domain.engine import fold
from planner.domain.history import LoggedEvent
from planner.domain.load import acwr
from planner.domain.timeline import ordered

JSON = dict[str, Any]

# B4's lines on the acute:chronic chart: above the first the routine advises caution, above
# the second the ramp is the one injuries follow (DOMAIN.md, B4).
ACWR_CAUTION = 1.3
ACWR_DANGER = 1.5

# The pain chart's three series, in the words a patient uses, with the timings they gather.
PAIN_SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("During exercise", ("during", "after")),
    ("Next morning", ("next_morning", "24h_after")),
    ("At rest", ("rest",)),
)

EVENT_WORDS = {
    "baseline.assessed": "baseline assessment",
    "workout.logged": "workout",
    "pain.reported": "pain report",
    "clearance.recorded": "clearance",
    "goal.set": "goal",
    "recovery.logged": "recovery log",
}


def words(slug: str) -> str:
    """`seated_hamstring_stretch` as `Seated hamstring stretch`."""
    return slug.replace("_", " ").replace(".", " ").capitalize()


def _n(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def dose_text(dose: Mapping[str, Any]) -> str:
    """A dose as a person reads it: `3 x 10 reps, 5 kg`, `2 x 30 s hold`, `25 min, 3x a week`."""
    parts: list[str] = []
    sets = dose.get("sets")
    if dose.get("reps") is not None:
        parts.append(
            f"{_n(sets)} x {_n(dose['reps'])} reps" if sets else f"{_n(dose['reps'])} reps"
        )
    elif dose.get("hold_s") is not None:
        hold = f"{_n(dose['hold_s'])} s hold"
        parts.append(f"{_n(sets)} x {hold}" if sets else hold)
    elif sets:
        parts.append(f"{_n(sets)} sets")
    if dose.get("load_kg") is not None:
        parts.append(f"{_n(dose['load_kg'])} kg")
    if dose.get("duration_min") is not None:
        parts.append(f"{_n(dose['duration_min'])} min")
    interval = dose.get("interval")
    if interval:
        parts.append(
            f"{_n(interval['rounds'])} rounds of {_n(interval['hard_min'])} min "
            f"{interval['intensity']} + {_n(interval['easy_min'])} min easy"
        )
    if dose.get("sessions_per_week") is not None:
        parts.append(f"{_n(dose['sessions_per_week'])}x a week")
    return ", ".join(parts) or "as tolerated"


@dataclass(frozen=True)
class Cause:
    event_id: str
    label: str  # "workout on 2026-09-03", or the id alone when the event is not known here


@dataclass(frozen=True)
class ChangeLine:
    rule: str
    reason: str
    what: str  # "Plank: 20 s hold → 25 s hold", or "Routine" for a change to the whole routine
    direction: str
    causes: tuple[Cause, ...]


@dataclass(frozen=True)
class VersionEntry:
    version: int
    at: str
    rules_version: str
    status: str
    changes: tuple[ChangeLine, ...]
    causes: tuple[Cause, ...]  # the events that made this version


@dataclass(frozen=True)
class PrescriptionLine:
    exercise: str
    variation: str
    dose: str
    rule: str
    reason: str
    changed_at: str
    causes: tuple[Cause, ...]
    hold: str | None
    maintenance: str | None


@dataclass(frozen=True)
class BlockSection:
    block: str
    prescriptions: tuple[PrescriptionLine, ...]


@dataclass(frozen=True)
class Series:
    """One chart: its x labels, named series (None: no value that week) and a text alternative."""

    title: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    unit: str
    summary: str
    guides: tuple[tuple[str, float], ...] = ()

    def all_values(self) -> list[float]:
        return [v for _, values in self.series for v in values if v is not None]


@dataclass(frozen=True)
class Page:
    user_id: str
    as_of: str
    status: str
    pause_reason: str | None
    pause_advice: tuple[str, ...]
    advice: tuple[JSON, ...]
    blocks: tuple[BlockSection, ...]
    held_out: tuple[JSON, ...]
    timeline: tuple[tuple[VersionEntry, ...], ...]  # newest first, quiet runs together
    charts: tuple[Series, ...] = field(default=())


def _causes(ids: Iterable[str], known: Mapping[str, LoggedEvent]) -> tuple[Cause, ...]:
    out = []
    for event_id in ids:
        event = known.get(event_id)
        if event is None:
            out.append(Cause(event_id, event_id))
        else:
            kind = EVENT_WORDS.get(event.type, event.type)
            out.append(Cause(event_id, f"{kind} on {event.occurred_at.date().isoformat()}"))
    return tuple(out)


def _change_line(change: Mapping[str, Any], known: Mapping[str, LoggedEvent]) -> ChangeLine:
    """One entry of a version's `changes` (domain/changes.py): a prescription added,
    removed or re-dosed, or the routine's status."""
    causes = _causes(change.get("caused_by") or (), known)
    if "status" in change:
        status = change["status"]
        what = (
            "Routine started"
            if status.get("before") is None
            else f"Routine {status.get('before')} → {status.get('after')}"
        )
        return ChangeLine("", change.get("reason") or "", what, "status", causes)
    before, after = change.get("before"), change.get("after")
    name = words(change["exercise"])
    if before is None:
        what, direction = f"{name} added: {dose_text((after or {}).get('dose') or {})}", "add"
    elif after is None:
        what, direction = f"{name} removed (was {dose_text(before['dose'] or {})})", "remove"
    else:
        what = f"{name}: {dose_text(before['dose'] or {})} → {dose_text(after['dose'] or {})}"
        if before.get("variation_level") != after.get("variation_level"):
            what += f" (level {before.get('variation_level')} → {after.get('variation_level')})"
        direction = "change"
    return ChangeLine(change.get("rule") or "", change.get("reason") or "", what, direction, causes)


def routine_sections(
    routine: Mapping[str, Any], known: Mapping[str, LoggedEvent]
) -> tuple[BlockSection, ...]:
    sections = []
    for block in routine.get("blocks", ()):
        lines = []
        for rx in block["prescriptions"]:
            last = rx["last_change"]
            lines.append(
                PrescriptionLine(
                    exercise=words(rx["exercise"]),
                    variation=words(rx["variation"]) if rx.get("variation") else "",
                    dose=dose_text(rx["dose"]),
                    rule=last["rule"],
                    reason=last["reason"],
                    changed_at=last["at"][:10],
                    causes=_causes(last.get("caused_by", ()), known),
                    hold=None
                    if rx.get("hold") is None
                    else f"{rx['hold']['rule']}: {rx['hold']['reason']}",
                    maintenance=None
                    if rx.get("maintenance") is None
                    else f"{rx['maintenance']['rule']}: {rx['maintenance']['reason']}",
                )
            )
        sections.append(BlockSection(words(block["block"]), tuple(lines)))
    return tuple(sections)


def timeline(
    versions: Sequence[Mapping[str, Any]], known: Mapping[str, LoggedEvent]
) -> tuple[VersionEntry, ...]:
    """Every routine version, newest first: what changed, by which rule, and its events."""
    return tuple(
        VersionEntry(
            version=v["version"],
            at=v["as_of"][:16].replace("T", " "),
            rules_version=v["rules_version"],
            status=v["routine"].get("status", "active"),
            changes=tuple(_change_line(c, known) for c in v.get("changes", ())),
            causes=_causes(v.get("caused_by") or (), known),
        )
        for v in sorted(versions, key=lambda v: v["version"], reverse=True)
    )


def grouped(entries: Sequence[VersionEntry]) -> tuple[tuple[VersionEntry, ...], ...]:
    """The timeline as a person reads it: a version that changed a dose or the status on its
    own, and each run of versions that changed only advice or the weekly plan as one."""
    groups: list[list[VersionEntry]] = []
    for entry in entries:
        quiet = not entry.changes
        if quiet and groups and not groups[-1][0].changes:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return tuple(tuple(g) for g in groups)


def _week_labels(weeks: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(date.fromisoformat(w["week_start"]).strftime("%d %b") for w in weeks)


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def weekly_pain_by_timing(
    events: Iterable[LoggedEvent], as_of: datetime, week_starts: Sequence[str]
) -> tuple[tuple[str, tuple[float | None, ...]], ...]:
    """The mean score per local week (the user's zone, as the rules count it) of each series."""
    state = fold(ordered(events, as_of))
    mondays = [date.fromisoformat(w) for w in week_starts]
    out = []
    for name, timings in PAIN_SERIES:
        values = []
        for monday in mondays:
            scores = [
                p.score
                for p in state.pain
                if p.timing in timings and monday <= state.local_date(p.at) < monday + timedelta(7)
            ]
            values.append(_mean(scores))
        out.append((name, tuple(values)))
    return tuple(out)


def weekly_acwr(
    events: Iterable[LoggedEvent], as_of: datetime, week_starts: Sequence[str]
) -> tuple[float | None, ...]:
    """B4's ratio at the end of each week (or at the last event, in the last week)."""
    state = fold(ordered(events, as_of))
    last = max((when for when, _ in state.loads), default=None)
    out: list[float | None] = []
    for week in week_starts:
        monday = date.fromisoformat(week)
        end = datetime.combine(monday + timedelta(7), datetime.min.time(), tzinfo=as_of.tzinfo)
        at = end if last is None or end <= last else last
        ratio = acwr(state.loads, at)[2]
        out.append(None if ratio is None else round(ratio, 2))
    return tuple(out)


def _describe(values: Sequence[float | None], unit: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "no values yet"
    return f"from {_n(known[0])}{unit} to {_n(known[-1])}{unit}, highest {_n(max(known))}{unit}"


def charts(
    progress: Mapping[str, Any], events: Sequence[LoggedEvent], as_of: datetime
) -> tuple[Series, ...]:
    weeks = progress.get("weeks", ())
    labels = _week_labels(weeks)
    starts = [w["week_start"] for w in weeks]
    n = len(weeks)
    pain = weekly_pain_by_timing(events, as_of, starts)
    sessions = tuple(float(w["sessions"]) for w in weeks)
    minutes = tuple(float(w["minutes"]) for w in weeks)
    load = tuple(float(w["load"]) for w in weeks)
    ratio = weekly_acwr(events, as_of, starts)
    period = f"over {n} week{'s' if n != 1 else ''}"
    return (
        Series(
            "Weekly pain (0-10)",
            labels,
            pain,
            "/10",
            f"Mean pain per week {period}: "
            + "; ".join(f"{name.lower()} {_describe(v, '/10')}" for name, v in pain)
            + ".",
        ),
        Series(
            "Sessions and minutes",
            labels,
            (("Sessions", sessions), ("Minutes", minutes)),
            "",
            f"Sessions per week {period}: {_describe(sessions, '')}; "
            f"minutes per week {_describe(minutes, ' min')}.",
        ),
        Series(
            "Training load (RPE x minutes)",
            labels,
            (("Load", load),),
            "",
            f"Weekly training load {period}: {_describe(load, '')}.",
        ),
        Series(
            "Acute:chronic workload ratio",
            labels,
            (("Ratio", ratio),),
            "",
            f"The ratio of this week's load to the 4-week average {period}: "
            f"{_describe(ratio, '')} (none before 28 days of data). "
            f"Above {ACWR_CAUTION} take care, above {ACWR_DANGER} the ramp is too steep.",
            guides=(("Caution 1.3", ACWR_CAUTION), ("Too steep 1.5", ACWR_DANGER)),
        ),
    )


def page(
    *,
    user_id: str,
    routine: Mapping[str, Any],
    versions: Sequence[Mapping[str, Any]],
    progress: Mapping[str, Any],
    events: Sequence[LoggedEvent],
    as_of: datetime,
) -> Page:
    known = {e.event_id: e for e in events}
    advice = tuple(routine.get("advice", ()))
    paused = routine.get("status") == "paused"
    return Page(
        user_id=user_id,
        as_of=as_of.isoformat(timespec="minutes"),
        status=routine.get("status", "active"),
        pause_reason=routine.get("pause_reason"),
        pause_advice=tuple(a["text"] for a in advice if a["rule"] == "R6") if paused else (),
        advice=tuple(a for a in advice if not (paused and a["rule"] == "R6")),
        blocks=routine_sections(routine, known),
        held_out=tuple(routine.get("held_out", ())),
        timeline=grouped(
            timeline([v for v in versions if datetime.fromisoformat(v["as_of"]) <= as_of], known)
        ),
        charts=charts(progress, events, as_of),
    )
