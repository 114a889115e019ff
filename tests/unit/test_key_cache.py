"""The data keys a process holds in memory: an erased key is never held after its deletion is
heard, however look-ups, deletions and the listening connection interleave."""

from hypothesis import given
from hypothesis import strategies as st

from traininglog.adapters.key_cache import KeyCache

KEY_IDS = ["k0", "k1", "k2"]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("begin"), st.sampled_from(KEY_IDS)),
        st.tuples(st.just("finish"), st.integers(0, 5)),
        st.tuples(st.just("delete"), st.sampled_from(KEY_IDS)),
        st.tuples(st.just("listening"), st.booleans()),
    ),
    max_size=40,
)


@given(steps)
def test_a_deleted_key_is_never_held_once_its_deletion_is_heard(plan):
    stored = {key_id: key_id.encode() for key_id in KEY_IDS}  # the key database
    cache = KeyCache()
    cache.set_listening(True)
    lookups = []  # begun, not finished: what each read from the database, and its generation
    for step, arg in plan:
        if step == "begin":  # as SqlAlchemyKeyStore.get: the generation, then the database
            _, generation = cache.known([arg])
            lookups.append(({arg: stored[arg]} if arg in stored else {}, generation))
        elif step == "finish" and lookups:
            read, generation = lookups.pop(arg % len(lookups))
            cache.keep(read, generation)
        elif step == "delete":  # committed, then heard (the notification, or the local call)
            stored.pop(arg, None)
            cache.forget_all()
        elif step == "listening":
            cache.set_listening(arg)
        held, _ = cache.known(KEY_IDS)
        assert set(held) <= set(stored)
        assert all(held[key_id] == stored[key_id] for key_id in held)


def test_nothing_is_held_while_deletions_cannot_be_heard():
    cache = KeyCache()
    _, generation = cache.known(["k0"])
    cache.keep({"k0": b"key"}, generation)
    assert cache.known(["k0"])[0] == {}
    cache.set_listening(True)
    _, generation = cache.known(["k0"])
    cache.keep({"k0": b"key"}, generation)
    assert cache.known(["k0"])[0] == {"k0": b"key"}
    cache.set_listening(False)  # the listening connection is lost
    assert cache.known(["k0"])[0] == {}
