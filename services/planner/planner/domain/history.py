"""A user's logged events as the progression rules see them: plain values, no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LoggedEvent:
    event_id: str
    type: str
    user_id: str
    occurred_at: datetime  # aware; the offset is the user's local calendar at the time
    stream_version: int
    position: int
    source: Mapping[str, Any]  # kind, name, and record_id / record_version for re-synced records
    payload: Mapping[str, Any]  # already upcast to the latest schema version of its type
    tenant: str = ""  # the client that owns the user: a user id is each client's own


def history_order(event: LoggedEvent) -> tuple[datetime, int, str]:
    """The one order of a user's history: occurred_at, ties by stream_version (then event id,
    so that the order never depends on how events arrived)."""
    return (event.occurred_at, event.stream_version, event.event_id)
