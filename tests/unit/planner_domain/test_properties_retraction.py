"""Property: whatever the interleaving of imports, re-imports, corrections and retractions of a
user's records, the routine is the one of the records that stand at the end, in order."""

import json
import os
import random
import uuid

from domain_builders import History, entry, follow_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.domain import derive_routine
from planner.domain.versions import replay_versions

_SETTINGS = settings(
    max_examples=int(os.environ.get("BACKTRACK_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOURCE = {"kind": "wearable", "name": "health-connect"}
RECORDS = ("squats", "walk", "pain-during", "pain-24h")
DAY = {"squats": 14, "walk": 16, "pain-during": 14, "pain-24h": 15}


def _payload(record: str, value: int) -> tuple[str, dict]:
    if record == "squats":
        sets = [{"reps": 8 + value % 5} for _ in range(2)]
        return "workout.logged", {
            "session_id": "squats",
            "exercises": [entry("squat", "strength", sets, rpe=4)],
        }
    if record == "walk":
        return "workout.logged", {
            "session_id": "walk",
            "exercises": [entry("walking", "cardio", [{"duration_min": 5 + value}], rpe=3)],
        }
    timing = "during" if record == "pain-during" else "24h_after"
    body = {"score": value % 9, "timing": timing, "location": "lower back", "red_flags": []}
    if record == "pain-during":
        body.update(exercise="squat", session_id="squats")
    return "pain.reported", body


operations = st.lists(
    st.tuples(
        st.sampled_from(("import", "import", "correct", "retract_record", "retract_event")),
        st.sampled_from(RECORDS),
        st.integers(0, 12),
    ),
    min_size=1,
    max_size=14,
)


@given(ops=operations, seed=st.integers(0, 2**16))
@_SETTINGS
def test_the_routine_is_the_one_of_the_records_that_stand(ops, seed):
    h = History()
    h.baseline(pain_at_rest=1)
    follow_plan(h, 2)
    prefix = len(h.events)
    version = dict.fromkeys(RECORDS, 0)
    stored: dict[str, list] = {record: [] for record in RECORDS}  # [event, standing]
    for index, (op, record, value) in enumerate(ops):
        if op == "import" and version[record] > 0:
            continue  # the same version again: the same event id, a duplicate, nothing stored
        if op in ("import", "correct"):
            version[record] += 1
            type_, payload = _payload(record, value)
            event = h.add(
                type_,
                payload,
                h.at(DAY[record], 1 + RECORDS.index(record)),
                source={**SOURCE, "record_id": record, "record_version": version[record]},
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record}/{version[record]}")),
            )
            stored[record].append([event, True])
        elif op == "retract_record":
            h.add("record.retracted", {"record_id": record}, h.at(30, index / 10), source=SOURCE)
            for item in stored[record]:
                item[1] = False
        elif stored[record]:
            latest = stored[record][-1][0]
            h.add(
                "record.retracted",
                {"event_id": latest.event_id},
                h.at(30, index / 10),
                source=SOURCE,
            )
            stored[record][-1][1] = False
    standing = [
        max((item[0] for item in items if item[1]), key=lambda e: e.source["record_version"])
        for items in stored.values()
        if any(item[1] for item in items)
    ]
    as_of = h.at(31)
    expected = _told(derive_routine([*h.events[:prefix], *standing], as_of).to_dict())
    assert _told(derive_routine(h.events, as_of).to_dict()) == expected
    arrival = list(h.events)
    random.Random(seed).shuffle(arrival)
    last = replay_versions(arrival)[-1]
    in_order = _told(derive_routine(h.events, last.as_of).to_dict())
    assert _told(last.routine) == in_order


def _told(routine: dict) -> str:
    """What the routine tells the user: all but its provenance."""
    return json.dumps({k: v for k, v in routine.items() if k != "based_on"}, sort_keys=True)
