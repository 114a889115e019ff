from planner.domain.changes import routine_changes


def routine(status: str = "active", **doses: dict) -> dict:
    return {
        "status": status,
        "pause_reason": None if status == "active" else "red flag",
        "blocks": [
            {
                "block": "stretching",
                "prescriptions": [
                    {
                        "exercise": exercise,
                        "dose": dose,
                        "variation_level": 0,
                        "last_change": {"rule": "P1", "reason": "why", "caused_by": ["e1"]},
                    }
                    for exercise, dose in doses.items()
                ],
            }
        ],
    }


def test_first_version_lists_status_and_every_prescription():
    changes = routine_changes(None, routine(cobra={"hold_s": 30}))
    assert changes[0]["status"] == {"before": None, "after": "active"}
    assert changes[1]["exercise"] == "cobra" and changes[1]["before"] is None
    assert changes[1]["rule"] == "P1" and changes[1]["caused_by"] == ["e1"]


def test_only_changed_prescriptions_are_listed():
    before = routine(cobra={"hold_s": 30}, cat_cow={"hold_s": 30})
    after = routine(cobra={"hold_s": 35}, cat_cow={"hold_s": 30})
    changes = routine_changes(before, after)
    assert [c["exercise"] for c in changes] == ["cobra"]
    assert changes[0]["after"]["dose"] == {"hold_s": 35}


def test_a_removed_prescription_and_a_pause_are_listed():
    changes = routine_changes(routine(cobra={"hold_s": 30}), routine("paused"))
    assert changes[0]["status"] == {"before": "active", "after": "paused"}
    assert changes[1] == {
        "exercise": "cobra",
        "before": {"block": "stretching", "dose": {"hold_s": 30}, "variation_level": 0},
        "after": None,
    }
