"""Event bodies sealed per user: open with the user's key only, and never once it is erased."""

import pytest

from traininglog.adapters.sealing import Unreadable, is_sealed, new_data_key, seal, unseal

BODY = '{"payload":{"score":7},"user_id":"ana"}'


def test_a_sealed_body_holds_no_plain_text_and_opens_with_its_key_and_event_id():
    key = new_data_key()
    sealed = seal(key, "event-1", BODY)
    assert is_sealed(sealed) and "score" not in sealed and "ana" not in sealed
    assert unseal(key, "event-1", sealed) == BODY
    assert seal(key, "event-1", BODY) != sealed  # a fresh nonce every time


def test_no_key_another_key_or_another_row_does_not_open_it():
    key = new_data_key()
    sealed = seal(key, "event-1", BODY)
    with pytest.raises(Unreadable, match="erased"):
        unseal(None, "event-1", sealed)
    with pytest.raises(Unreadable):
        unseal(new_data_key(), "event-1", sealed)
    with pytest.raises(Unreadable):
        unseal(key, "event-2", sealed)  # moved onto another event's row


def test_plain_bodies_read_as_they_are():
    assert unseal(None, "marker", BODY) == BODY
