"""What changed between two routine versions, prescription by prescription. Pure."""

from typing import Any

Routine = dict[str, Any]


def _prescriptions(routine: Routine | None) -> dict[str, dict[str, Any]]:
    if routine is None:
        return {}
    return {
        prescription["exercise"]: {"block": block["block"], **prescription}
        for block in routine.get("blocks", [])
        for prescription in block.get("prescriptions", [])
    }


def _state(prescription: dict[str, Any] | None) -> dict[str, Any] | None:
    if prescription is None:
        return None
    return {
        "block": prescription["block"],
        "dose": prescription.get("dose"),
        "variation_level": prescription.get("variation_level"),
    }


def routine_changes(before: Routine | None, after: Routine) -> list[dict[str, Any]]:
    """One entry per added, removed or re-dosed prescription, plus a status change if any."""
    changes: list[dict[str, Any]] = []
    if before is None or before.get("status") != after.get("status"):
        changes.append(
            {
                "status": {
                    "before": before.get("status") if before else None,
                    "after": after.get("status"),
                },
                "reason": after.get("pause_reason"),
            }
        )
    old, new = _prescriptions(before), _prescriptions(after)
    for exercise in sorted(old.keys() | new.keys()):
        was, now = _state(old.get(exercise)), _state(new.get(exercise))
        if was == now:
            continue
        change: dict[str, Any] = {"exercise": exercise, "before": was, "after": now}
        last_change = (new.get(exercise) or {}).get("last_change")
        if last_change:
            change.update(
                rule=last_change.get("rule"),
                reason=last_change.get("reason"),
                caused_by=last_change.get("caused_by", []),
            )
        changes.append(change)
    return changes
