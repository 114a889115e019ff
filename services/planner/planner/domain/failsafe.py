"""Fail safe, per user (DESIGN.md, "Trust boundaries"): an event the rules cannot fold never
leaves its user's routine as it was. Pure.

The event is set aside (recorded as unapplied, left out of the history the rules read), and
while any of a user's events is set aside their routine answers `paused`, naming the event. The
rules still fold everything else, so a red flag in a later event pauses with R6's referral.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from planner.domain.rules.pain_rules import r6_wording

RULE = "FAILSAFE"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Unapplied:
    event_id: str
    error: str
    red_flags: tuple[str, ...] = ()  # what the event reported, though it could not be folded
    position: int = 0

    def as_json(self) -> dict[str, str]:
        return {"event_id": self.event_id, "error": self.error}


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


def pause_reason(unapplied: Sequence[Unapplied]) -> str:
    first = unapplied[0]
    more = f" (and {len(unapplied) - 1} more)" if len(unapplied) > 1 else ""
    return (
        f"Event {first.event_id}{more} could not be applied ({first.error}): the routine is "
        "paused until the planner can apply it. Ask your physiotherapist "
        "before exercising meanwhile."
    )


def referral(flags: Sequence[str]) -> tuple[str, str]:
    """R6's own words (and tier) for red flags the rules could not fold."""
    return r6_wording(flags)


def fail_safe(routine: dict[str, Any], unapplied: Sequence[Unapplied]) -> dict[str, Any]:
    """The routine a user with set-aside events sees: paused, naming them. A pause the rules
    made already (a red flag's referral) keeps its reason: it says more than ours."""
    if not unapplied:
        return routine
    listed = [u.as_json() for u in unapplied]
    ours = any(advice.get("rule") == RULE for advice in routine.get("advice", []))
    if routine.get("status") == "paused" and not ours:
        return {**routine, "unapplied_events": listed}
    flags = sorted({flag for u in unapplied for flag in u.red_flags})
    reason, severity = pause_reason(unapplied), "caution"
    if flags:  # the event could not be folded, but what it reports is heard
        urgent, severity = referral(flags)
        reason = f"{urgent} {reason}"
    advice = {
        "rule": RULE,
        "severity": severity,
        "text": reason,
        "caused_by": [u.event_id for u in unapplied],
    }
    return {
        **routine,
        "status": "paused",
        "pause_reason": reason,
        "blocks": [],
        "advice": [advice],
        "unapplied_events": listed,
    }


def degradations(users_with_unapplied_events: int | None) -> dict[str, str]:
    """What /readyz reports of them: users whose routines fail safe are a fault for an operator
    to fix (correct the event, rebuild the user), not a reason to stop serving everyone else."""
    if not users_with_unapplied_events:
        return {}
    return {
        "unapplied_events": f"{users_with_unapplied_events} users have events the rules could "
        "not fold: their routines answer paused (GET /v1/users/{id}/routine names the event) "
        "until a planner that can apply them rebuilds the user (POST /v1/admin/rebuild)."
    }


def nothing_folded(last_event_id: str, rules_version: str) -> dict[str, Any]:
    """The routine of a user none of whose events the rules could fold (before fail_safe)."""
    return {
        "rules_version": rules_version,
        "status": "active",
        "pause_reason": None,
        "blocks": [],
        "held_out": [],
        "advice": [],
        "weekly_plan": {},
        "goals": [],
        "deload": {},
        "recent_changes": [],
        "based_on": {"events": 0, "last_event_id": last_event_id, "last_event_at": None},
    }
