"""A stored row read back as an envelope: decoded (the feed, streams) or as JSON text spliced
without decoding (the relay) must say exactly the same thing."""

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared.contracts import canonical_body
from traininglog.adapters.event_store import stored_envelope, stored_envelope_json
from traininglog.adapters.sealing import new_data_key, seal

KEY = new_data_key()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def row(body: str, *, sealed: bool, tenant: str, recorded_at: datetime) -> dict:
    return {
        "position": 41,
        "event_id": "e-1",
        "stream_version": 3,
        "recorded_at": recorded_at,
        "tenant": tenant,
        "body": seal(KEY, "e-1", body) if sealed else body,
    }


@given(
    payload=st.dictionaries(st.text(), json_values, max_size=5),
    tenant=st.text(min_size=1),
    sealed=st.booleans(),
    naive=st.booleans(),  # SQLite hands timestamps back without their zone
)
def test_the_spliced_text_decodes_to_the_decoded_envelope(payload, tenant, sealed, naive):
    body = canonical_body(
        {
            "event_id": "e-1",
            "type": "pain.reported",
            "schema_version": 1,
            "user_id": "ana",
            "occurred_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
            "source": {"kind": "app", "name": "ünïcode"},
            "payload": payload,
        }
    )
    recorded_at = datetime(2026, 3, 1, 9, tzinfo=None if naive else UTC)
    stored = row(body, sealed=sealed, tenant=tenant, recorded_at=recorded_at)
    key = KEY if sealed else None
    decoded = stored_envelope(stored, key)
    assert json.loads(stored_envelope_json(stored, key)) == decoded
    assert decoded["position"] == 41 and decoded["stream_version"] == 3
    assert decoded["tenant"] == tenant and decoded["payload"] == payload
    assert decoded["recorded_at"] == "2026-03-01T09:00:00+00:00"
