"""What counts as the database not answering, and what the planner's consumer makes of it."""

import json

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from backtrack_shared.db import is_transient_database_error
from backtrack_shared.rabbit import IncomingMessage, TransientFailure
from planner.entrypoints.consumer import message_handler
from tests.factories import baseline, new_user_id


def stored_message() -> IncomingMessage:
    envelope = {**baseline(new_user_id()), "stream_version": 1, "position": 1, "tenant": "acme"}
    envelope["recorded_at"] = envelope["occurred_at"]
    return IncomingMessage(json.dumps(envelope).encode(), "baseline.assessed", "m", {}, False)


def test_connection_trouble_is_transient_and_a_broken_constraint_is_not():
    assert is_transient_database_error(OperationalError("SELECT 1", {}, Exception("refused")))
    assert is_transient_database_error(InterfaceError("SELECT 1", {}, Exception("closed")))
    assert not is_transient_database_error(IntegrityError("INSERT", {}, Exception("dup")))
    assert not is_transient_database_error(ValueError("no"))


def test_the_consumer_is_told_a_database_outage_is_transient():
    def apply(_envelope):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(TransientFailure):
        message_handler(apply)(stored_message())


def test_any_other_failure_is_left_to_the_delivery_limit():
    def apply(_envelope):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        message_handler(apply)(stored_message())
