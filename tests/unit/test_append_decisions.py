from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared.user_key import UserKey
from traininglog.domain.append import NewEvent, Outcome, Owner, StoredRef, Writer
from traininglog.domain.append import decide_append as decide

ACME = Writer("acme")


def decide_append(events, already_stored, stream_heads):  # type: ignore[no-untyped-def]
    """About versions and idempotency: one tenant writing for its own users."""
    return decide(events, already_stored, stream_heads, writers=[ACME] * len(events), owners={})


def event(
    event_id: str, user_id: str = "ana", body_hash: str = "h1", tenant: str = "acme"
) -> NewEvent:
    return NewEvent(
        event_id,
        tenant,
        user_id,
        "pain.reported",
        1,
        datetime(2026, 1, 1, tzinfo=UTC),
        body="{}",
        body_hash=body_hash,
    )


def ref(event_id: str, user_id: str, version: int, position: int, tenant: str = "acme"):  # type: ignore[no-untyped-def]
    return StoredRef(event_id, tenant, user_id, version, position, body_hash="h1")


def acme(user_id: str) -> UserKey:
    return UserKey("acme", user_id)


def test_new_events_take_the_next_versions_of_their_own_stream():
    decisions = decide_append(
        [event("a"), event("b", "ben"), event("c")],
        already_stored={},
        stream_heads={acme("ana"): 4},
    )
    assert [(d.outcome, d.stream_version) for d in decisions] == [
        (Outcome.STORED, 5),
        (Outcome.STORED, 1),
        (Outcome.STORED, 6),
    ]


def test_a_stored_id_with_the_same_body_is_a_duplicate_and_with_another_a_conflict():
    stored = ref("a", "ana", 3, 10)
    same, other = decide_append(
        [event("a"), event("a", body_hash="h2")],
        already_stored={("acme", "a"): stored},
        stream_heads={},
    )
    assert (same.outcome, same.stream_version, same.existing) == (Outcome.DUPLICATE, 3, stored)
    assert (other.outcome, other.stream_version) == (Outcome.CONFLICT, 3)  # her own event


def test_a_conflict_with_another_users_event_tells_nothing_of_it():
    stored = ref("a", "hidden", 3, 10)
    (clash,) = decide_append(
        [event("a", "ana", body_hash="h2")], already_stored={("acme", "a"): stored}, stream_heads={}
    )
    assert (clash.outcome, clash.stream_version, clash.existing) == (Outcome.CONFLICT, None, None)
    _, again = decide_append(
        [event("b", "hidden"), event("b", "ana", body_hash="h2")], {}, stream_heads={}
    )
    assert (again.outcome, again.stream_version) == (Outcome.CONFLICT, None)


def test_repeats_inside_one_batch_are_stored_once():
    first, repeat, clash = decide_append(
        [event("a"), event("a"), event("a", body_hash="h2")], already_stored={}, stream_heads={}
    )
    assert first.outcome is Outcome.STORED and first.stream_version == 1
    assert repeat.outcome is Outcome.DUPLICATE and repeat.stream_version == 1
    assert clash.outcome is Outcome.CONFLICT


def test_duplicates_do_not_consume_stream_versions():
    stored = ref("a", "ana", 1, 1)
    decisions = decide_append(
        [event("a"), event("b")], {("acme", "a"): stored}, stream_heads={acme("ana"): 1}
    )
    assert decisions[1].stream_version == 2


def test_a_user_id_and_an_event_id_are_their_tenants_own():
    """globex's bob and event a are not acme's: acme writes its own bob, and its own event a."""
    stored = ref("a", "bob", 1, 1, tenant="globex")
    owners = {UserKey("globex", "bob"): Owner("globex")}
    (mine,) = decide(
        [event("a", "bob")], {("globex", "a"): stored}, {}, writers=[ACME], owners=owners
    )
    assert (mine.outcome, mine.stream_version, mine.existing) == (Outcome.STORED, 1, None)


def test_another_tenants_user_is_not_found_unless_granted():
    owners = {
        UserKey("globex", "bob"): Owner("globex"),
        UserKey("globex", "kim"): Owner("globex", grantees=frozenset({"acme"})),
    }
    for_globex = Writer("acme", owner="globex")
    theirs, granted, new = decide(
        [
            event("b", "bob", tenant="globex"),
            event("k", "kim", tenant="globex"),
            event("n", "new", tenant="globex"),
        ],
        {},
        {UserKey("globex", "bob"): 1, UserKey("globex", "kim"): 2},
        writers=[for_globex] * 3,
        owners=owners,
    )
    assert (theirs.outcome, theirs.stream_version) == (Outcome.NOT_FOUND, None)
    assert (granted.outcome, granted.stream_version) == (Outcome.STORED, 3)
    assert new.outcome is Outcome.NOT_FOUND  # nobody makes users in another's namespace


def test_an_operator_writes_for_every_user_and_nobody_for_an_erased_one():
    owners = {UserKey("globex", "bob"): Owner("globex"), acme("eve"): Owner("acme", erased=True)}
    operator = Writer("ops", every_user=True, owner="globex")
    (for_bob,) = decide(
        [event("b", "bob", tenant="globex")],
        {},
        {UserKey("globex", "bob"): 1},
        writers=[operator],
        owners=owners,
    )
    assert (for_bob.outcome, for_bob.stream_version) == (Outcome.STORED, 2)
    for writer in (ACME, Writer("ops", every_user=True, owner="acme")):
        (late,) = decide([event("e", "eve")], {}, {acme("eve"): 4}, writers=[writer], owners=owners)
        assert late.outcome is Outcome.ERASED


ids = st.sampled_from(["a", "b", "c"])
users = st.sampled_from(["ana", "bob"])
hashes = st.sampled_from(["h1", "h2"])
events = st.lists(st.tuples(ids, users, hashes), max_size=8)


@given(mine=events, theirs=events, interleave=st.lists(st.booleans(), max_size=16))
def test_what_another_tenant_writes_never_changes_the_decisions_for_ones_own(
    mine, theirs, interleave
):
    """Gathered in one append with any of globex's events, with the same ids, acme's events are
    decided exactly as on their own."""
    own = [event(e, u, h) for e, u, h in mine]
    other = [event(e, u, h, tenant="globex") for e, u, h in theirs]
    alone = decide(own, {}, {}, writers=[ACME] * len(own), owners={})
    mixed, rest_own, rest_other = [], list(own), list(other)
    for take_own in interleave:
        if take_own and rest_own:
            mixed.append(rest_own.pop(0))
        elif rest_other:
            mixed.append(rest_other.pop(0))
    mixed += rest_own + rest_other
    writers = [ACME if e.tenant == "acme" else Writer("globex") for e in mixed]
    together = decide(mixed, {}, {}, writers=writers, owners={})
    of_acme = [d for d in together if d.event.tenant == "acme"]
    assert [(d.outcome, d.stream_version) for d in of_acme] == [
        (d.outcome, d.stream_version) for d in alone
    ]
