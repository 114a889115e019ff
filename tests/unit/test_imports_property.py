"""Property: whatever the interleaving of Health Connect imports, re-imports, corrections and
deletions, what the import stores folds to the routine of the records that stand at the end.

The import's own pure steps (mapping, supersession, deletions) run against a store that keeps
event ids as traininglog does (a repeat is a duplicate); the planner's rules fold the result."""

import json
import os
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtrack_shared.contracts import NewEventSchema, canonical_body
from planner.domain import LoggedEvent, derive_routine
from tests.wearable_exports import START, strength_record, walk_record
from traininglog.domain.imports import health_connect as hc
from traininglog.domain.imports.items import stored_records, supersede, with_items

RECORDS = ("squats", "walk", "lunges")
NOW = START + timedelta(days=20)
USER = "ana"


def _record(name: str, version: int, value: int) -> dict[str, Any]:
    day = START + timedelta(days=RECORDS.index(name) * 2)
    if name == "walk":
        return walk_record(name, version, start=day, minutes=10 + value)
    record = strength_record(name, version, start=day, reps=8 + value % 5)
    if name == "lunges":
        for segment in record["segments"]:
            segment["segmentType"] = 36 if segment["segmentType"] == 51 else segment["segmentType"]
    return record


class Store:
    """Event ids kept as traininglog keeps them: a repeat is a duplicate, never stored twice."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        self.bodies: dict[str, str] = {}

    def import_export(self, export: dict[str, Any]) -> list[str]:
        stored = stored_records(self.envelopes, hc.SOURCE_NAME)
        records = supersede(hc.record_items(export.get("records", []), USER), stored)
        ahead = with_items(stored, records)
        deletions = hc.deletion_items(export.get("deletions", []), USER, ahead, NOW)
        statuses = []
        for item in [*records, *deletions]:
            if item.settled is not None:
                statuses.append(item.settled[0])
                continue
            if item.envelope is None:
                statuses.append("rejected")
                continue
            loaded = NewEventSchema().load(item.envelope)
            body = canonical_body(loaded)
            known = self.bodies.get(loaded["event_id"])
            if known is not None:
                statuses.append("duplicate" if known == body else "conflict")
                continue
            self.bodies[loaded["event_id"]] = body
            self.envelopes.append({**item.envelope, "stream_version": len(self.envelopes) + 1})
            statuses.append("stored")
        return statuses

    def history(self) -> list[LoggedEvent]:
        return [_logged(envelope) for envelope in self.envelopes]


def _logged(envelope: dict[str, Any]) -> LoggedEvent:
    return LoggedEvent(
        event_id=envelope["event_id"],
        type=envelope["type"],
        user_id=USER,
        occurred_at=datetime.fromisoformat(envelope["occurred_at"]),
        stream_version=envelope["stream_version"],
        position=envelope["stream_version"],
        source=envelope["source"],
        payload=envelope["payload"],
    )


operations = st.lists(
    st.tuples(
        st.sampled_from(("import", "reimport", "correct", "delete", "stale")),
        st.sampled_from(RECORDS),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=12,
)


@given(ops=operations)
@settings(
    max_examples=int(os.environ.get("BACKTRACK_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_what_an_import_stores_folds_to_the_routine_of_the_records_that_stand(ops):
    store = Store()
    sent: dict[str, tuple[int, int]] = {}  # record -> the latest (version, value) imported
    standing: dict[str, tuple[int, int] | None] = {}
    for op, name, value in ops:
        latest = sent.get(name)
        if op == "delete":
            statuses = store.import_export({"deletions": [{"clientRecordId": name}]})
            if latest is None:
                assert statuses == ["rejected"]  # nothing of that id to take back
            else:
                assert statuses == ["duplicate" if standing[name] is None else "stored"]
                standing[name] = None
            continue
        if op == "stale" and latest is not None and latest[0] > 1:
            statuses = store.import_export({"records": [_record(name, latest[0] - 1, value)]})
            assert statuses == ["superseded"]
            continue
        if op == "reimport" and latest is not None:
            statuses = store.import_export({"records": [_record(name, *latest)]})
            assert statuses == ["duplicate"]
            continue
        version = 1 if latest is None else latest[0] + 1
        statuses = store.import_export({"records": [_record(name, version, value)]})
        assert statuses == ["stored"]
        sent[name] = standing[name] = (version, value)
    final = [
        item.envelope
        for name, kept in standing.items()
        if kept is not None
        for item in hc.record_items([_record(name, *kept)], USER)
    ]
    stand_alone = Store()
    for envelope in sorted(final, key=lambda e: e["occurred_at"]):
        stand_alone.envelopes.append({**envelope, "stream_version": len(stand_alone.envelopes) + 1})
    as_of = NOW + timedelta(hours=1)
    imported = derive_routine(store.history(), as_of).to_dict()
    expected = derive_routine(stand_alone.history(), as_of).to_dict()
    assert _told(imported) == _told(expected)


def _told(routine: dict[str, Any]) -> str:
    """What the routine tells: all but its provenance."""
    return json.dumps({k: v for k, v in routine.items() if k != "based_on"}, sort_keys=True)
