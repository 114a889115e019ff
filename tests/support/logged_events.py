"""Three logged events of one user (a baseline, a pain report, one with a red flag): a small
history the planner's version and rulebook tests replay."""

from datetime import UTC, datetime, timedelta

from planner.domain import LoggedEvent

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def event(n: int, event_type: str, payload: dict, *, day: int) -> LoggedEvent:
    return LoggedEvent(
        event_id=f"e{n}",
        type=event_type,
        user_id="ana",
        occurred_at=T0 + timedelta(days=day),
        stream_version=n,
        position=100 + n,
        source={"kind": "app", "name": "t"},
        payload=payload,
    )


EVENTS = [
    event(1, "baseline.assessed", {"walk_min": 20, "plank_s": 20, "pain_at_rest": 2}, day=0),
    event(
        2,
        "pain.reported",
        {
            "score": 1,
            "timing": "rest",
            "location": "back",
            "red_flags": [],
            "radiates_to": "unknown",
        },
        day=1,
    ),
    event(
        3,
        "pain.reported",
        {
            "score": 2,
            "timing": "rest",
            "location": "back",
            "red_flags": ["saddle_numbness"],
            "radiates_to": "unknown",
        },
        day=2,
    ),
]
