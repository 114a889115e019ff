"""The planner applies event messages of traininglog's broker user alone (the `user_id` property,
which RabbitMQ validates), and its own requeues on its requeue exchange: anything else is
acknowledged unapplied and counted, one message or a batch at a time."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared.broker.messages import IncomingMessage
from planner.entrypoints.consumer import Publishers, batch_handler, message_handler
from planner.metrics import EVENTS_UNTRUSTED
from tests.factories import baseline, new_user_id

EVENTS, REQUEUE = "backtrack.events", "backtrack.planner.requeue"
PUBLISHERS = Publishers(events="traininglog", requeues="planner", requeue_exchange=REQUEUE)

user_ids = st.sampled_from([None, "traininglog", "planner", "guest", "tenant-a", ""])
exchanges = st.sampled_from([EVENTS, REQUEUE, "backtrack.planner.dead-letter", ""])


def message(user_id: str | None, exchange: str) -> IncomingMessage:
    envelope = {**baseline(new_user_id()), "stream_version": 1, "position": 1, "tenant": "acme"}
    envelope["recorded_at"] = envelope["occurred_at"]
    return IncomingMessage(
        json.dumps(envelope).encode(),
        "baseline.assessed",
        envelope["event_id"],
        {},
        False,
        user_id=user_id,
        exchange=exchange,
    )


def expected_trust(user_id: str | None, exchange: str) -> bool:
    return user_id == "traininglog" or (user_id == "planner" and exchange == REQUEUE)


def untrusted_count() -> float:
    return EVENTS_UNTRUSTED._value.get()


@given(user_id=user_ids, exchange=exchanges)
def test_one_message_is_applied_only_when_traininglog_or_the_planners_requeue_published_it(
    user_id: str | None, exchange: str
):
    applied: list[dict[str, Any]] = []
    before = untrusted_count()
    message_handler(applied.append, PUBLISHERS)(message(user_id, exchange))  # type: ignore[arg-type]
    trusted = expected_trust(user_id, exchange)
    assert len(applied) == (1 if trusted else 0)
    assert untrusted_count() - before == (0 if trusted else 1)


@given(st.lists(st.tuples(user_ids, exchanges), min_size=1, max_size=12))
def test_a_batch_applies_the_trusted_in_order_and_acknowledges_the_others_unapplied(
    senders: list[tuple[str | None, str]],
):
    messages = [message(user_id, exchange) for user_id, exchange in senders]
    calls: list[list[str]] = []

    def apply_all(envelopes: list[dict[str, Any]]) -> list[Any]:
        calls.append([envelope["event_id"] for envelope in envelopes])
        return []

    before = untrusted_count()
    refusals = batch_handler(apply_all, PUBLISHERS)(messages)
    trusted = [m.message_id for m, s in zip(messages, senders, strict=True) if expected_trust(*s)]
    assert calls == ([trusted] if trusted else [])
    assert refusals == [None] * len(messages)  # none dead-lettered: dropped ones are acked
    assert untrusted_count() - before == len(messages) - len(trusted)


def test_under_guest_both_services_are_one_user_and_a_message_without_user_id_is_dropped():
    guest = Publishers(events="guest", requeues="guest", requeue_exchange=REQUEUE)
    assert guest.trusted(message("guest", EVENTS))
    assert not guest.trusted(message(None, EVENTS))
