"""The relay's contract with fakes: mark sent only what the broker confirmed."""

import contextlib
from collections.abc import Sequence

import pika.exceptions
import pytest

from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.relay import OutboxRelay, PendingMessage


class FakeOutbox:
    def __init__(self, count: int) -> None:
        self.rows = {
            i: OutgoingMessage(routing_key="pain.reported", body=b"{}", message_id=f"m{i}")
            for i in range(1, count + 1)
        }

    def turn(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    def pending(self, limit: int) -> list[PendingMessage]:
        return [PendingMessage(i, m) for i, m in sorted(self.rows.items())[:limit]]

    def mark_published(self, outbox_ids: Sequence[int]) -> None:
        for outbox_id in outbox_ids:
            del self.rows[outbox_id]


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[str] = []

    def publish(self, exchange: str, messages: Sequence[OutgoingMessage]) -> int:
        if self.fail:
            raise pika.exceptions.AMQPConnectionError("broker down")
        self.published += [m.message_id for m in messages]
        return len(messages)

    def close(self) -> None:
        pass


def test_relays_in_outbox_order_and_marks_what_was_confirmed():
    outbox, publisher = FakeOutbox(5), FakePublisher()
    relay = OutboxRelay(outbox, publisher, "events", batch_size=2)
    assert [relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    assert publisher.published == ["m1", "m2", "m3", "m4", "m5"]
    assert outbox.rows == {}


def test_a_failed_publish_leaves_the_batch_pending():
    outbox, publisher = FakeOutbox(3), FakePublisher(fail=True)
    relay = OutboxRelay(outbox, publisher, "events")
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        relay.relay_once()
    assert sorted(outbox.rows) == [1, 2, 3]
