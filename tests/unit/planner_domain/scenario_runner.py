"""Plays a 12-week scenario file (scenarios/*.json) and reads the routine at its checkpoints."""

import json
from pathlib import Path
from typing import Any

from domain_builders import History, full_session

from planner.domain import derive_routine

SCENARIOS = Path(__file__).parent / "scenarios"


def play(spec: dict[str, Any]) -> History:
    h = History(user=spec["name"])
    arrivals: dict[str, float] = {}
    if spec.get("baseline") is not None:
        h.baseline(**spec["baseline"])
    extras = sorted(spec.get("events", []), key=lambda e: (e["day"], e.get("hour", 2)))
    skip = set(spec.get("skip_days", []))
    for day in range(spec["weeks"] * 7):
        for extra in [e for e in extras if e["day"] == day and e.get("hour", 2) < 1]:
            _extra(h, extra, arrivals)
        if day % 7 in spec["train_weekdays"] and day not in skip:
            known = [e for e in h.events if arrivals.get(e.event_id, -1) <= day]
            routine = derive_routine(known, h.at(day, 0.5))
            if routine.status == "active":
                entries = full_session(routine)
                _plateau(spec, day, entries)
                ev = h.workout(
                    day, entries, duration_min=45, session_id=f"d{day}", **_source(spec, day)
                )
                if day in spec.get("late_sync_days", []):
                    arrivals[ev.event_id] = spec["late_sync_arrives_day"]
        for extra in [e for e in extras if e["day"] == day and e.get("hour", 2) >= 1]:
            _extra(h, extra, arrivals)
    return h


def _plateau(spec: dict[str, Any], day: int, entries: list[dict[str, Any]]) -> None:
    """The last set stalls below the prescribed reps on the plateau days."""
    plateau = spec.get("plateau")
    if not plateau or not plateau["from_day"] <= day < plateau["until_day"]:
        return
    for e in entries:
        if e["exercise"] == plateau["exercise"] and e["sets"]:
            last = dict(e["sets"][-1])
            last["reps"] = min(last.get("reps", 12), plateau["last_set_reps"])
            e["sets"] = [*e["sets"][:-1], last]


def _source(spec: dict[str, Any], day: int) -> dict[str, Any]:
    if day in spec.get("late_sync_days", []):
        return {
            "source": {
                "kind": "wearable",
                "name": "watch",
                "record_id": f"w{day}",
                "record_version": 1,
            }
        }
    return {}


def _extra(h: History, e: dict[str, Any], arrivals: dict[str, float]) -> None:
    payload = dict(e["payload"])
    if "session_day" in e:
        payload["session_id"] = f"d{e['session_day']}"
    ev = h.add(e["type"], payload, h.at(e["day"], e.get("hour", 2)))
    if "arrives_day" in e:
        arrivals[ev.event_id] = e["arrives_day"]


def snapshot(h: History, day: float) -> dict[str, Any]:
    r = derive_routine(h.events, h.at(day, 23))
    return {
        "status": r.status,
        "prescriptions": {
            f"{p.block}/{p.exercise}": {
                **p.dose.to_dict(),
                "level": p.variation_level,
                "rule": p.last_change.rule,
            }
            for b in r.blocks
            for p in b.prescriptions
            if p.block not in ("warmup", "cooldown")
        },
        "held_out": sorted(f"{x.block}/{x.exercise}:{x.rule}" for x in r.held_out),
        "advice": sorted({a.rule for a in r.advice}),
        "deload": r.deload.get("active", False),
    }


def load(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / name).read_text())


def all_names() -> list[str]:
    return sorted(p.name for p in SCENARIOS.glob("*.json"))


def rewrite_checkpoints(name: str) -> dict[str, Any]:
    """Record a scenario's checkpoints as the rules now produce them (a new rules version).

    Only for a deliberate rules change: read the diff of the file it writes, story by story,
    before committing it.
    """
    spec = load(name)
    h = play(spec)
    spec["checkpoints"] = {
        label: snapshot(h, int(label.split("_")[1]) * 7 - 1) for label in spec["checkpoints"]
    }
    (SCENARIOS / name).write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    return spec
