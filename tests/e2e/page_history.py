"""Twelve weeks of a patient for the progress page: the steady scenario's routine followed three
times a week, with a pain report during each session, the next morning and at rest each week."""

import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.client import as_envelope

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "planner_domain"))
from scenario_runner import load, play

PAIN_DURING = (3, 2, 2, 3, 2, 1)  # cycled over the sessions: within D9's 3-5 now and then
PAIN_AT_REST = (3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 0)  # one a week, easing


def _pain(user_id: str, at: Any, score: int, timing: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "pain.reported",
        "schema_version": 1,
        "user_id": user_id,
        "occurred_at": at.isoformat(),
        "source": {"kind": "app", "name": "backtrack-page-tests"},
        "payload": {"score": score, "timing": timing, "location": "lower back"},
    }


def twelve_weeks(user_id: str) -> list[dict[str, Any]]:
    """The envelopes, in the order they happened, with ids of their own (fresh each call)."""
    history = play(load("steady_progress.json"))
    documents: list[dict[str, Any]] = []
    first = min(e.occurred_at for e in history.events)
    weeks_seen: set[int] = set()
    sessions = 0
    for event in history.events:
        document = {**as_envelope(event), "user_id": user_id, "event_id": str(uuid.uuid4())}
        documents.append(document)
        if event.type != "workout.logged":
            continue
        at = event.occurred_at
        documents.append(
            _pain(user_id, at + timedelta(minutes=20), PAIN_DURING[sessions % 6], "during")
        )
        morning = (at + timedelta(days=1)).replace(hour=8, minute=0)
        documents.append(_pain(user_id, morning, 1 + sessions % 2, "next_morning"))
        sessions += 1
        week = (at - first).days // 7
        if week not in weeks_seen and week < len(PAIN_AT_REST):
            weeks_seen.add(week)
            documents.append(_pain(user_id, at - timedelta(hours=3), PAIN_AT_REST[week], "rest"))
    return documents


def red_flag(user_id: str, after: dict[str, Any]) -> dict[str, Any]:
    """A report with a red flag an hour after the `after` event: R6 pauses the routine."""
    at = datetime.fromisoformat(after["occurred_at"]) + timedelta(hours=1)
    document = _pain(user_id, at, 6, "rest")
    document["payload"]["red_flags"] = ["fever"]
    return document
