"""Exports as wearables make them, for the import tests: Health Connect JSON as an Android app
serialises ExerciseSessionRecords, and FIT activity files written with fit-tool (an encoder
independent of the decoder the service uses)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.messages.set_message import SetMessage
from fit_tool.profile.profile_type import FileType, Manufacturer, SetType, Sport, SubSport

START = datetime(2026, 9, 2, 16, 30, tzinfo=UTC)  # 18:30 in Madrid
SQUAT, REST, WALKING_SEGMENT, CRUNCH = 51, 44, 64, 10  # ExerciseSegment types
WALKING, STRENGTH_TRAINING = 79, 70  # ExerciseSessionRecord exercise types


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def strength_record(
    record_id: str,
    version: int = 1,
    *,
    start: datetime = START,
    reps: int = 10,
    sets: int = 2,
    segment_type: int = SQUAT,
    **fields: Any,
) -> dict[str, Any]:
    """A strength session: `sets` sets of squats, a rest between each."""
    segments, at = [], start
    for index in range(sets):
        segments.append(
            {
                "startTime": _instant(at),
                "endTime": _instant(at + timedelta(seconds=40)),
                "segmentType": segment_type,
                "repetitions": reps,
            }
        )
        at += timedelta(seconds=40)
        if index < sets - 1:
            segments.append(
                {
                    "startTime": _instant(at),
                    "endTime": _instant(at + timedelta(seconds=60)),
                    "segmentType": REST,
                }
            )
            at += timedelta(seconds=60)
    return {
        "metadata": {
            "id": f"hc-{record_id}",
            "clientRecordId": record_id,
            "clientRecordVersion": version,
            "dataOrigin": {"packageName": "org.example.rehab"},
        },
        "startTime": _instant(start),
        "startZoneOffset": "+02:00",
        "endTime": _instant(start + timedelta(minutes=20)),
        "endZoneOffset": "+02:00",
        "exerciseType": STRENGTH_TRAINING,
        "title": "Squats",
        "segments": segments,
        **fields,
    }


def walk_record(
    record_id: str, version: int = 1, *, start: datetime = START, minutes: int = 30
) -> dict[str, Any]:
    """A walk logged without segments."""
    return {
        "metadata": {
            "id": f"hc-{record_id}",
            "clientRecordId": record_id,
            "clientRecordVersion": version,
        },
        "startTime": _instant(start),
        "startZoneOffset": "+02:00",
        "endTime": _instant(start + timedelta(minutes=minutes)),
        "endZoneOffset": "+02:00",
        "exerciseType": WALKING,
    }


def _fit_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def fit_activity(
    sport: Sport,
    sub_sport: SubSport = SubSport.GENERIC,
    *,
    start: datetime = START,
    minutes: float = 30,
    sets: list[tuple[int, int, float]] = (),  # type: ignore[assignment]
    serial: int = 1234,
    offset_h: int = 2,
) -> bytes:
    """A FIT activity file of one session; strength `sets` as (category, reps, kg)."""
    builder = FitFileBuilder(auto_define=True)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.GARMIN.value
    file_id.product = 1
    file_id.serial_number = serial
    file_id.time_created = _fit_ms(start)
    builder.add(file_id)
    for index, (category, reps, kg) in enumerate(sets):
        one = SetMessage()
        one.start_time = _fit_ms(start + timedelta(minutes=2 * index))
        one.timestamp = _fit_ms(start + timedelta(minutes=2 * index, seconds=40))
        one.duration = 40.0
        one.repetitions = reps
        if kg:
            one.weight = kg
        one.set_type = SetType.ACTIVE
        one.category = [category]
        one.message_index = index
        builder.add(one)
    end = start + timedelta(minutes=minutes)
    session = SessionMessage()
    session.start_time = _fit_ms(start)
    session.timestamp = _fit_ms(end)
    session.sport = sport
    session.sub_sport = sub_sport
    session.total_elapsed_time = minutes * 60.0
    session.total_timer_time = minutes * 60.0
    builder.add(session)
    activity = ActivityMessage()
    activity.timestamp = _fit_ms(end)
    activity.local_timestamp = int(end.timestamp()) + offset_h * 3600 - 631065600
    activity.num_sessions = 1
    activity.total_timer_time = minutes * 60.0
    builder.add(activity)
    return bytes(builder.build().to_bytes())


if (
    __name__ == "__main__"
):  # an example walk for the README: python -m tests.wearable_exports walk.fit
    import sys

    with open(sys.argv[1], "wb") as out:
        out.write(fit_activity(Sport.WALKING, minutes=30))
