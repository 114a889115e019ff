"""Valid event envelopes for tests, with random unique ids so tests never collide."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def new_user_id() -> str:
    return f"user-{uuid.uuid4().hex[:16]}"


def envelope(
    event_type: str,
    payload: dict[str, Any],
    *,
    user_id: str,
    occurred_at: datetime | str = BASE_TIME,
    event_id: str | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "schema_version": 1,
        "user_id": user_id,
        "occurred_at": occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat(),
        "source": source or {"kind": "app", "name": "backtrack-tests"},
        "payload": payload,
    }


def baseline(user_id: str, *, day: int = 0, **payload: Any) -> dict[str, Any]:
    body = {"walk_min": 20, "plank_s": 20, "pain_at_rest": 2, "flexibility": "fair", **payload}
    return envelope(
        "baseline.assessed", body, user_id=user_id, occurred_at=BASE_TIME + timedelta(days=day)
    )


def workout(user_id: str, *, day: int = 1, session_id: str | None = None) -> dict[str, Any]:
    payload = {
        "session_id": session_id or f"s-{uuid.uuid4().hex[:8]}",
        "duration_min": 40,
        "exercises": [
            {
                "exercise": "walking",
                "kind": "cardio",
                "sets": [{"duration_min": 10}],
                "completed": True,
                "rpe": 3,
            },
            {
                "exercise": "seated_hamstring_stretch",
                "kind": "stretch",
                "sets": [{"hold_s": 30}, {"hold_s": 30}],
                "completed": True,
            },
            {"exercise": "plank", "kind": "core", "sets": [{"hold_s": 20}], "completed": True},
        ],
    }
    return envelope(
        "workout.logged", payload, user_id=user_id, occurred_at=BASE_TIME + timedelta(days=day)
    )


def pain(
    user_id: str, *, score: int, timing: str = "during", day: int = 1, **extra: Any
) -> dict[str, Any]:
    payload = {"score": score, "timing": timing, "location": "lower back", **extra}
    return envelope(
        "pain.reported", payload, user_id=user_id, occurred_at=BASE_TIME + timedelta(days=day)
    )
