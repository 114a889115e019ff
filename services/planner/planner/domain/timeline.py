"""A user's history as the rules read it: up to an instant, corrected records only, in order."""

from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from planner.domain.history import (
    LoggedEvent,
    as_if_never_sent,
    history_order,
    record_key,
    red_flags_kept,
)

__all__ = ["declared_zone", "local_date", "ordered", "record_key"]


def _record_version(event: LoggedEvent) -> int:
    version = event.source.get("record_version")
    return int(version) if version is not None else -1


def ordered(history: Iterable[LoggedEvent], as_of: datetime) -> list[LoggedEvent]:
    """Events that had happened by `as_of`, retracted records left out (history.py), newer
    record versions replacing older, sorted. The red flags of a report taken back either way
    stay, at its instant (history.red_flags_kept).

    A re-synced record replaces its older versions wherever they sit in time: the newest
    version known by `as_of` wins (ties broken by stream_version, then event id, so the
    result never depends on arrival order).
    """
    seen: dict[str, LoggedEvent] = {}
    for event in history:
        if event.occurred_at <= as_of:
            seen.setdefault(event.event_id, event)  # an event delivered twice counts once
    seen = {event.event_id: event for event in as_if_never_sent(seen.values())}
    latest: dict[tuple[str, str], LoggedEvent] = {}
    for event in seen.values():
        key = record_key(event)
        if key is None:
            continue
        best = latest.get(key)
        if best is None or _rank(event) > _rank(best):
            latest[key] = event
    kept: list[LoggedEvent] = []
    for event in seen.values():
        key = record_key(event)
        if key is None or latest[key] is event:
            kept.append(event)
        elif (retained := red_flags_kept(event, latest[key])) is not None:
            kept.append(retained)
    kept.sort(key=history_order)
    return kept


def _rank(event: LoggedEvent) -> tuple[int, int, str]:
    return (_record_version(event), event.stream_version, event.event_id)


def local_date(instant: datetime, zone: tzinfo | None = None) -> date:
    """The user's calendar day (D7): in their declared time zone when there is one (finding 9),
    else the offset of occurred_at."""
    return (instant if zone is None else instant.astimezone(zone)).date()


def declared_zone(name: object) -> tzinfo | None:
    """`baseline.assessed.time_zone` as an IANA zone; None when absent or not a zone's name."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
