"""The import mappings (Health Connect, FIT) and the supersession of re-synced records: pure."""

from datetime import UTC, datetime

from fit_tool.profile.profile_type import ExerciseCategory, Sport, SubSport

from backtrack_shared import catalogue
from backtrack_shared.contracts import NewEventSchema
from tests.wearable_exports import CRUNCH, fit_activity, strength_record, walk_record
from traininglog.adapters.fit_file import decode_fit
from traininglog.domain.imports import fit_activity as fit
from traininglog.domain.imports import health_connect as hc
from traininglog.domain.imports.items import stored_records, supersede, with_items

NOW = datetime(2026, 9, 3, 8, 0, tzinfo=UTC)


def test_every_mapped_type_names_a_catalogue_exercise():
    for table in (hc.SEGMENT_TYPES, hc.SESSION_TYPES, fit.CARDIO_SPORTS, fit.SET_CATEGORIES):
        assert set(table.values()) <= set(catalogue.EXERCISES)


def test_a_strength_session_is_its_sets_and_the_rests_between_them_are_no_exercise():
    (item,) = hc.record_items([strength_record("r1", 3, reps=12, sets=3)], "ana")
    envelope = NewEventSchema().load(item.envelope)
    assert envelope["occurred_at"].isoformat() == "2026-09-02T18:30:00+02:00"
    assert envelope["source"] == {
        "kind": "wearable",
        "name": "health-connect",
        "record_id": "r1",
        "record_version": 3,
    }
    (squats,) = envelope["payload"]["exercises"]
    assert (squats["exercise"], squats["kind"], squats["sets"]) == (
        "squat",
        "strength",
        [{"reps": 12}] * 3,
    )


def test_weight_and_held_segments_become_load_and_hold():
    record = strength_record("r1", sets=1)
    record["segments"][0]["weight"] = {"inKilograms": 5.0}
    record["segments"].append({**record["segments"][0], "segmentType": 41, "repetitions": 0})
    (item,) = hc.record_items([record], "ana")
    squat, plank = item.envelope["payload"]["exercises"]
    assert squat["sets"] == [{"reps": 10, "load_kg": 5.0}]
    assert plank["exercise"] == "plank" and plank["sets"] == [{"hold_s": 40.0, "load_kg": 5.0}]


def test_an_unmapped_segment_and_a_missing_offset_are_rejected_naming_the_field():
    no_offset = walk_record("w1")
    del no_offset["startZoneOffset"]
    crunches, walk = hc.record_items([strength_record("r1", segment_type=CRUNCH), no_offset], "ana")
    assert list(crunches.errors["segments"]["0"]) == ["segmentType"]
    assert "time zone offset" in walk.errors["startZoneOffset"][0]


def test_a_session_without_segments_maps_by_its_exercise_type_or_is_rejected():
    walk, yoga = hc.record_items(
        [walk_record("w1"), {**walk_record("y1"), "exerciseType": 83}], "ana"
    )
    assert walk.envelope["payload"]["exercises"][0]["sets"] == [{"duration_min": 30.0}]
    assert "exerciseType" in yoga.errors


def test_the_same_record_and_version_make_the_same_event_id_and_a_new_version_another():
    first, again, corrected = hc.record_items(
        [strength_record("r1"), strength_record("r1"), strength_record("r1", 2)], "ana"
    )
    assert first.envelope["event_id"] == again.envelope["event_id"]
    assert corrected.envelope["event_id"] != first.envelope["event_id"]


def _stored(*items):
    return [{**item.envelope, "stream_version": n} for n, item in enumerate(items, start=1)]


def test_an_older_version_than_one_stored_is_superseded_and_a_newer_one_supersedes():
    v2 = hc.record_items([strength_record("r1", 2)], "ana")[0]
    stored = stored_records(_stored(v2), hc.SOURCE_NAME)
    v1, v3 = supersede(
        hc.record_items([strength_record("r1", 1), strength_record("r1", 3)], "ana"), stored
    )
    assert v1.settled == ("superseded", {"superseded_by": v3.envelope["event_id"]})
    assert v3.settled is None


def test_a_deletion_takes_back_a_known_record_once_and_an_unknown_one_is_rejected():
    (v1,) = hc.record_items([strength_record("r1")], "ana")
    stored = stored_records(_stored(v1), hc.SOURCE_NAME)
    deleted, unknown = hc.deletion_items(
        [{"clientRecordId": "r1"}, {"recordId": "nope"}], "ana", with_items(stored, []), NOW
    )
    assert deleted.envelope["type"] == "record.retracted"
    assert deleted.envelope["payload"]["record_id"] == "r1"
    NewEventSchema().load(deleted.envelope)
    assert "clientRecordId" in unknown.errors
    retraction = {**deleted.envelope, "stream_version": 2}
    stored = stored_records([*_stored(v1), retraction], hc.SOURCE_NAME)
    (again,) = hc.deletion_items([{"clientRecordId": "r1"}], "ana", stored, NOW)
    assert again.settled == ("duplicate", {"event_id": deleted.envelope["event_id"]})


def test_fit_sessions_map_by_sport_and_sets_and_an_unknown_sport_is_rejected():
    squat = ExerciseCategory.SQUAT.value
    strength = fit_activity(Sport.TRAINING, SubSport.STRENGTH_TRAINING, sets=[(squat, 10, 5.0)] * 2)
    (lifted,) = fit.activity_items(decode_fit(strength), "ana")
    assert lifted.envelope["payload"]["exercises"][0]["sets"] == [{"reps": 10, "load_kg": 5.0}] * 2
    (swim,) = fit.activity_items(decode_fit(fit_activity(Sport.SWIMMING, minutes=25)), "ana")
    assert swim.envelope["payload"]["exercises"][0]["exercise"] == "swimming"
    (walk,) = fit.activity_items(decode_fit(fit_activity(Sport.WALKING)), "ana")
    assert walk.envelope["occurred_at"] == "2026-09-02T18:30:00+02:00"
    (golf,) = fit.activity_items(decode_fit(fit_activity(Sport.GOLF)), "ana")
    assert "sport" in golf.errors
