"""Wearables' exports in, through both services on the real broker and database: Health Connect
JSON and FIT files imported, re-imported, corrected and deleted, and the routine the planner
makes of the records that stand."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fit_tool.profile.profile_type import ExerciseCategory, Sport, SubSport

from tests.e2e.client import post_all, routine, wait_applied
from tests.e2e.conftest import System
from tests.factories import baseline, envelope, new_user_id, pain
from tests.wearable_exports import CRUNCH, START, fit_activity, strength_record, walk_record
from traininglog.domain.imports import health_connect as hc

pytestmark = pytest.mark.e2e


def _import(system: System, export: dict[str, Any]) -> dict[str, Any]:
    answer = system.http.post(
        f"{system.traininglog.url}/v1/imports/health-connect", json=export, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _post_fit(system: System, user: str, data: bytes) -> Any:
    return system.http.post(
        f"{system.traininglog.url}/v1/imports/fit",
        params={"user_id": user},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )


def _statuses(answer: dict[str, Any]) -> list[str]:
    return [result["status"] for result in answer["results"]]


def _events(system: System, user: str) -> list[dict[str, Any]]:
    page = system.http.get(
        f"{system.traininglog.url}/v1/users/{user}/events",
        params={"after_version": 0, "limit": 1000},
        timeout=10,
    ).json()
    return page["events"]  # type: ignore[no-any-return]


def _routine_at(system: System, user: str, instant: str) -> dict[str, Any]:
    url = f"{system.planner.url}/v1/users/{user}/routine"
    return system.http.get(url, params={"as_of": instant}, timeout=10).json()  # type: ignore[no-any-return]


def _doses(current: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [
        (block["block"], rx["exercise"], rx["dose"])
        for block in current["blocks"]
        for rx in block["prescriptions"]
    ]


def test_health_connect_import_reimport_correction_and_deletion(system: System):
    user, twin = new_user_id(), new_user_id()
    first = baseline(user)
    post_all(system, [first])
    no_offset = walk_record("walk-2", start=START + timedelta(days=2))
    del no_offset["startZoneOffset"]
    export = {
        "user_id": user,
        "records": [
            strength_record("squats-1"),
            walk_record("walk-1", start=START + timedelta(days=1)),
            strength_record("crunches-1", segment_type=CRUNCH),
            no_offset,
        ],
    }
    answer = _import(system, export)
    assert _statuses(answer) == ["stored", "stored", "rejected", "rejected"]
    assert list(answer["results"][2]["errors"]["segments"]["0"]) == ["segmentType"]
    assert list(answer["results"][3]["errors"]) == ["startZoneOffset"]
    assert answer["mapping_version"] == hc.MAPPING_VERSION

    again = _import(system, export)  # the same export twice stores nothing new
    assert _statuses(again) == ["duplicate", "duplicate", "rejected", "rejected"]
    assert again["counts"]["stored"] == 0

    corrected = _import(
        system,
        {
            "user_id": user,
            "records": [
                strength_record("squats-1"),
                walk_record("walk-1", 2, start=START + timedelta(days=1), minutes=40),
            ],
        },
    )
    assert _statuses(corrected) == ["duplicate", "stored"]
    assert corrected["results"][1]["supersedes"] == [answer["results"][1]["event_id"]]
    stale = _import(
        system,
        {"user_id": user, "records": [walk_record("walk-1", start=START + timedelta(days=1))]},
    )
    assert _statuses(stale) == ["superseded"]
    assert stale["results"][0]["superseded_by"] == corrected["results"][1]["event_id"]

    deleted = _import(system, {"user_id": user, "deletions": [{"clientRecordId": "squats-1"}]})
    assert _statuses(deleted) == ["stored"]
    assert _statuses(
        _import(system, {"user_id": user, "deletions": [{"clientRecordId": "squats-1"}]})
    ) == ["duplicate"]
    unknown = _import(system, {"user_id": user, "deletions": [{"clientRecordId": "never"}]})
    assert (
        _statuses(unknown) == ["rejected"] and "clientRecordId" in unknown["results"][0]["errors"]
    )

    wait_applied(system, user, deleted["results"][0]["position"])
    # A user who only ever sent the records that stand: the baseline and the corrected walk.
    (walk,) = [
        item.envelope
        for item in hc.record_items(
            [walk_record("walk-1", 2, start=START + timedelta(days=1), minutes=40)], twin
        )
    ]
    positions = post_all(system, [{**first, "event_id": str(uuid.uuid4()), "user_id": twin}, walk])
    wait_applied(system, twin, positions[-1])
    # Read at one instant (the deletion's): how long since the last session is part of a dose.
    retracted_at = _events(system, user)[-1]["occurred_at"]
    imported, direct = (_routine_at(system, someone, retracted_at) for someone in (user, twin))
    assert imported["status"] == direct["status"] == "active"
    assert _doses(imported) == _doses(direct)
    assert imported["based_on"]["events"] == direct["based_on"]["events"] == 2


def test_fit_files_are_imported_and_a_cut_file_is_refused(system: System):
    user = new_user_id()
    post_all(system, [baseline(user, access=["pool"])])
    squat = ExerciseCategory.SQUAT.value
    files = {
        "strength": fit_activity(
            Sport.TRAINING,
            SubSport.STRENGTH_TRAINING,
            sets=[(squat, 10, 0)] * 2,
            serial=1,
            start=START,
        ),
        "walk": fit_activity(Sport.WALKING, serial=2, start=START + timedelta(days=1)),
        "swim": fit_activity(
            Sport.SWIMMING, SubSport.LAP_SWIMMING, serial=3, start=START + timedelta(days=3)
        ),
        "golf": fit_activity(Sport.GOLF, serial=4, start=START + timedelta(days=4)),
    }
    answers = {name: _post_fit(system, user, data) for name, data in files.items()}
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(files, 200)
    statuses = {name: _statuses(a.json()) for name, a in answers.items()}
    assert statuses == {
        "strength": ["stored"],
        "walk": ["stored"],
        "swim": ["stored"],
        "golf": ["rejected"],
    }
    assert list(answers["golf"].json()["results"][0]["errors"]) == ["sport"]
    assert _statuses(_post_fit(system, user, files["walk"]).json()) == ["duplicate"]

    cut = _post_fit(system, user, files["strength"][: len(files["strength"]) // 2])
    assert cut.status_code == 422 and list(cut.json()["errors"]) == ["file"]
    assert _post_fit(system, user, b"not a fit file").status_code == 422
    wrong_type = system.http.post(
        f"{system.traininglog.url}/v1/imports/fit", params={"user_id": user}, json={}, timeout=10
    )
    assert wrong_type.status_code == 415

    current = wait_applied(system, user, answers["swim"].json()["results"][0]["position"])
    assert current["based_on"]["events"] == 4  # the baseline and three sessions


def test_a_retracted_red_flag_keeps_the_routine_paused_until_a_clinician_reviews_it(
    system: System,
):
    user = new_user_id()
    flag = pain(user, score=3, timing="rest", day=2, red_flags=["saddle_numbness"])
    post_all(system, [baseline(user), flag])
    retraction = envelope(
        "record.retracted",
        {"event_id": flag["event_id"], "reason": "ticked by mistake"},
        user_id=user,
        occurred_at=START + timedelta(days=3),
    )
    (position,) = post_all(system, [retraction])
    paused = wait_applied(system, user, position)
    assert paused["status"] == "paused"
    kept = [event["type"] for event in _events(system, user)]
    assert kept == ["baseline.assessed", "pain.reported", "record.retracted"]  # the log keeps both
    assert routine(system, user)["status"] == "paused"
