"""A FIT activity file, as Garmin's FIT SDK decodes it, to `workout.logged` events: one per
session of the file. Pure: it reads the decoded messages (adapters/fit_file.py decodes).

    file_id (manufacturer, product, serial_number, time_created) -> source.record_id
    session.sport / sub_sport            -> the exercise (cardio), or sets (strength)
    session.start_time + the offset       -> occurred_at; the offset is activity.local_timestamp
                                             minus activity.timestamp (required)
    session.total_elapsed_time            -> payload.duration_min
    session.total_timer_time              -> the cardio set's duration_min
    set (set_type active).category        -> the exercise of a strength set
    set.repetitions / weight / duration   -> sets[].reps / load_kg / hold_s (holds)
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from traininglog.domain.imports.items import ImportItem, add_set, exercise_entry, import_event_id

SOURCE_NAME = "fit-file"
MAPPING_VERSION = "fit/2026.12-1"
# FIT's epoch (1989-12-31T00:00:00Z), for local_timestamp, which the SDK leaves as seconds.
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)

# (sport, sub_sport or None for any) -> catalogue slug of a cardio session.
CARDIO_SPORTS: Mapping[tuple[str, str | None], str] = {
    ("walking", None): "walking",
    ("hiking", None): "walking",
    ("running", None): "steady_run",
    ("swimming", None): "swimming",
}
# Sessions whose sets (set messages) name their exercises.
SET_SPORTS: frozenset[tuple[str, str]] = frozenset({("training", "strength_training")})
# FIT exercise_category -> catalogue slug.
SET_CATEGORIES: Mapping[str, str] = {
    "squat": "squat",
    "lunge": "lunge",
    "calf_raise": "calf_raise",
    "bench_press": "chest_press",
    "plank": "plank",
    "hyperextension": "superman",
}
HELD: frozenset[str] = frozenset({"plank"})


def activity_items(
    messages: Mapping[str, Sequence[Mapping[str, Any]]], user_id: str
) -> list[ImportItem]:
    """One item per session of a decoded activity file (a file without one: one rejected)."""
    file_id = next(iter(messages.get("file_id_mesgs", ())), None)
    if file_id is None or file_id.get("type") != "activity":
        return [
            ImportItem({"list": "file", "index": 0}, errors={"file_id": ["Not an activity file."]})
        ]
    sessions = list(messages.get("session_mesgs", ()))
    if not sessions:
        return [ImportItem({"list": "sessions", "index": 0}, errors={"sessions": ["No session."]})]
    file_record = "-".join(
        str(file_id.get(name, "")) for name in ("manufacturer", "product", "serial_number")
    )
    created = file_id.get("time_created")
    file_record += f"-{created:%Y%m%dT%H%M%SZ}" if isinstance(created, datetime) else ""
    zone = _zone_of(messages)
    sets = [s for s in messages.get("set_mesgs", ()) if s.get("set_type") == "active"]
    return [
        _session_item(index, session, sessions, sets, zone, user_id, file_record)
        for index, session in enumerate(sessions)
    ]


def _session_item(
    index: int,
    session: Mapping[str, Any],
    sessions: Sequence[Mapping[str, Any]],
    sets: Sequence[Mapping[str, Any]],
    zone: timezone | None,
    user_id: str,
    file_record: str,
) -> ImportItem:
    record_id = file_record if len(sessions) == 1 else f"{file_record}/{index}"
    ref: dict[str, Any] = {"list": "sessions", "index": index, "record_id": record_id}
    start = session.get("start_time")
    if not isinstance(start, datetime):
        return ImportItem(ref, errors={"start_time": ["Missing."]})
    if zone is None:
        why = "Missing: the time zone offset (local_timestamp) sets the local calendar."
        return ImportItem(ref, errors={"activity": {"local_timestamp": [why]}})
    elapsed = float(session.get("total_elapsed_time") or 0)
    end = start + timedelta(seconds=elapsed)
    sport, sub_sport = str(session.get("sport")), str(session.get("sub_sport"))
    cardio = CARDIO_SPORTS.get((sport, sub_sport)) or CARDIO_SPORTS.get((sport, None))
    if cardio is not None:
        timer = float(session.get("total_timer_time") or elapsed)
        exercises = [exercise_entry(cardio, [{"duration_min": round(timer / 60, 2)}])]
    elif (sport, sub_sport) in SET_SPORTS:
        mine = [s for s in sets if _within(s, start, end) or len(sessions) == 1]
        exercises, errors = _strength(mine)
        if errors:
            return ImportItem(ref, errors=errors)
    else:
        why = f"Sport {sport} ({sub_sport}) maps to no exercise ({MAPPING_VERSION})."
        return ImportItem(ref, errors={"sport": [why]})
    envelope = {
        "event_id": import_event_id(SOURCE_NAME, user_id, record_id, 1),
        "type": "workout.logged",
        "user_id": user_id,
        "occurred_at": start.astimezone(zone).isoformat(),
        "source": {
            "kind": "wearable",
            "name": SOURCE_NAME,
            "record_id": record_id,
            "record_version": 1,
        },
        "payload": {
            "session_id": record_id[:128],
            "duration_min": round(elapsed / 60, 2),
            "exercises": exercises,
        },
    }
    return ImportItem({**ref, "record_version": 1}, envelope=envelope)


def _strength(sets: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    errors: dict[str, Any] = {}
    for index, one in enumerate(sets):
        category = one.get("category")
        if isinstance(category, (list, tuple)):
            category = category[0] if category else None
        slug = SET_CATEGORIES.get(str(category)) if category is not None else None
        if slug is None:
            errors[str(index)] = {
                "category": [
                    f"Exercise category {category} maps to no exercise ({MAPPING_VERSION})."
                ]
            }
            continue
        done: dict[str, Any] = {}
        if one.get("repetitions"):
            done["reps"] = int(one["repetitions"])
        elif slug in HELD and one.get("duration"):
            done["hold_s"] = round(float(one["duration"]), 1)
        elif one.get("duration"):
            done["duration_min"] = round(float(one["duration"]) / 60, 2)
        if one.get("weight"):
            done["load_kg"] = float(one["weight"])
        if not done:
            errors[str(index)] = {
                "repetitions": ["A set needs repetitions, a weight or a duration."]
            }
            continue
        add_set(entries, slug, done)
    if errors:
        return [], {"sets": errors}
    if not entries:
        return [], {"sets": ["A strength session without an active set."]}
    return entries, {}


def _within(one: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    at = one.get("start_time") or one.get("timestamp")
    return isinstance(at, datetime) and start <= at <= end


def _zone_of(messages: Mapping[str, Sequence[Mapping[str, Any]]]) -> timezone | None:
    activity = next(iter(messages.get("activity_mesgs", ())), None)
    if activity is None:
        return None
    local, instant = activity.get("local_timestamp"), activity.get("timestamp")
    if not isinstance(local, int) or not isinstance(instant, datetime):
        return None
    offset_s = (FIT_EPOCH + timedelta(seconds=local) - instant).total_seconds()
    quarter_hours = round(offset_s / 900)  # device clocks drift by seconds; zones by 15 min
    if abs(quarter_hours) > 18 * 4:
        return None
    return timezone(timedelta(minutes=15 * quarter_hours))

