from datetime import UTC, datetime

from traininglog.domain.append import NewEvent, Outcome, Owner, StoredRef, Writer
from traininglog.domain.append import decide_append as decide

ACME = Writer("acme")


def decide_append(events, already_stored, stream_heads):  # type: ignore[no-untyped-def]
    """About versions and idempotency: one tenant writing for its own users."""
    return decide(events, already_stored, stream_heads, writers=[ACME] * len(events), owners={})


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


def test_another_tenants_user_is_not_found_even_for_an_event_id_stored_for_them():
    stored = StoredRef("a", "bob", stream_version=1, position=1, body_hash="h1")
    owners = {"bob": Owner("globex"), "ana": Owner("acme")}
    theirs, retry, mine = decide(
        [event("b", "bob"), event("a", "bob"), event("c", "ana")],
        {"a": stored},
        {"ana": 2, "bob": 1},
        writers=[ACME] * 3,
        owners=owners,
    )
    assert (theirs.outcome, theirs.stream_version) == (Outcome.NOT_FOUND, None)
    assert (retry.outcome, retry.existing) == (Outcome.NOT_FOUND, None)  # says nothing of it
    assert (mine.outcome, mine.stream_version) == (Outcome.STORED, 3)


def test_an_operator_writes_for_every_user_and_nobody_for_an_erased_one():
    owners = {"bob": Owner("globex"), "eve": Owner("acme", erased=True)}
    operator = Writer("ops", every_user=True)
    (for_bob,) = decide([event("b", "bob")], {}, {"bob": 1}, writers=[operator], owners=owners)
    assert (for_bob.outcome, for_bob.stream_version) == (Outcome.STORED, 2)
    for writer in (ACME, operator):
        (late,) = decide([event("e", "eve")], {}, {"eve": 4}, writers=[writer], owners=owners)
        assert late.outcome is Outcome.ERASED


def test_in_one_gathered_append_the_first_writer_for_a_new_user_makes_them_theirs():
    globex = Writer("globex")
    first, second, third = decide(
        [event("a", "new"), event("b", "new"), event("c", "new")],
        {},
        {},
        writers=[ACME, globex, ACME],
        owners={},
    )
    assert (first.outcome, first.writer) == (Outcome.STORED, ACME)
    assert second.outcome is Outcome.NOT_FOUND
    assert (third.outcome, third.stream_version) == (Outcome.STORED, 2)
