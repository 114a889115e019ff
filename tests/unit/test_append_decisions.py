from datetime import UTC, datetime

from traininglog.domain.append import NewEvent, Outcome, StoredRef, decide_append


def event(event_id: str, user_id: str = "ana", body_hash: str = "h1") -> NewEvent:
    return NewEvent(
        event_id,
        user_id,
        "pain.reported",
        1,
        datetime(2026, 1, 1, tzinfo=UTC),
        body="{}",
        body_hash=body_hash,
    )


def test_new_events_take_the_next_versions_of_their_own_stream():
    decisions = decide_append(
        [event("a"), event("b", "ben"), event("c")], already_stored={}, stream_heads={"ana": 4}
    )
    assert [(d.outcome, d.stream_version) for d in decisions] == [
        (Outcome.STORED, 5),
        (Outcome.STORED, 1),
        (Outcome.STORED, 6),
    ]


def test_a_stored_id_with_the_same_body_is_a_duplicate_and_with_another_a_conflict():
    stored = StoredRef("a", "ana", stream_version=3, position=10, body_hash="h1")
    same, other = decide_append(
        [event("a"), event("a", body_hash="h2")], already_stored={"a": stored}, stream_heads={}
    )
    assert (same.outcome, same.stream_version, same.existing) == (Outcome.DUPLICATE, 3, stored)
    assert other.outcome is Outcome.CONFLICT


def test_repeats_inside_one_batch_are_stored_once():
    first, repeat, clash = decide_append(
        [event("a"), event("a"), event("a", body_hash="h2")], already_stored={}, stream_heads={}
    )
    assert first.outcome is Outcome.STORED and first.stream_version == 1
    assert repeat.outcome is Outcome.DUPLICATE and repeat.stream_version == 1
    assert clash.outcome is Outcome.CONFLICT


def test_duplicates_do_not_consume_stream_versions():
    stored = StoredRef("a", "ana", stream_version=1, position=1, body_hash="h1")
    decisions = decide_append([event("a"), event("b")], {"a": stored}, stream_heads={"ana": 1})
    assert decisions[1].stream_version == 2
