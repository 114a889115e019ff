"""What counts as the database not answering, and what the planner's consumer makes of it,
one message or a batch at a time."""

import json

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from backtrack_shared.broker.messages import IncomingMessage, PoisonMessage, TransientFailure
from backtrack_shared.db import is_transient_database_error
from planner.entrypoints.consumer import Publishers, batch_handler, message_handler
from tests.factories import baseline, new_user_id

PUBLISHERS = Publishers(events="traininglog")


def stored_message() -> IncomingMessage:
    envelope = {**baseline(new_user_id()), "stream_version": 1, "position": 1, "tenant": "acme"}
    envelope["recorded_at"] = envelope["occurred_at"]
    return IncomingMessage(
        json.dumps(envelope).encode(), "baseline.assessed", "m", {}, False, user_id="traininglog"
    )


def test_connection_trouble_is_transient_and_a_broken_constraint_is_not():
    assert is_transient_database_error(OperationalError("SELECT 1", {}, Exception("refused")))
    assert is_transient_database_error(InterfaceError("SELECT 1", {}, Exception("closed")))
    assert not is_transient_database_error(IntegrityError("INSERT", {}, Exception("dup")))
    assert not is_transient_database_error(ValueError("no"))


def test_the_consumer_is_told_a_database_outage_is_transient():
    def apply(_envelope):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(TransientFailure):
        message_handler(apply, PUBLISHERS)(stored_message())


def test_any_other_failure_is_left_to_the_delivery_limit():
    def apply(_envelope):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        message_handler(apply, PUBLISHERS)(stored_message())


def test_a_batch_applies_its_envelopes_in_one_call_and_refuses_what_is_not_one():
    calls: list[list[str]] = []
    good = [stored_message(), stored_message()]
    junk = IncomingMessage(
        b"not json", "baseline.assessed", "junk", {}, False, user_id="traininglog"
    )

    def apply_all(envelopes):
        calls.append([envelope["user_id"] for envelope in envelopes])
        return []

    refusals = batch_handler(apply_all, PUBLISHERS)([good[0], junk, good[1]])
    assert calls == [[json.loads(message.body)["user_id"] for message in good]]
    assert refusals[0] is None and refusals[2] is None
    assert isinstance(refusals[1], PoisonMessage)
    assert "not a stored event envelope" in str(refusals[1])


def test_a_batch_meeting_a_database_outage_is_transient_and_any_other_failure_is_raised():
    def outage(_envelopes):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def bug(_envelopes):
        raise RuntimeError("a bug")

    with pytest.raises(TransientFailure):
        batch_handler(outage, PUBLISHERS)([stored_message(), stored_message()])
    with pytest.raises(RuntimeError):  # the consumer then handles the messages one by one
        batch_handler(bug, PUBLISHERS)([stored_message(), stored_message()])
