"""A publisher standing for the broker, for tests of the outbox relays' turns."""

import time
from collections import Counter
from collections.abc import Sequence

from backtrack_shared.broker.messages import OutgoingMessage


class CountingPublisher:
    """Counts what each relay sends, confirming after a moment (so that relays overlap)."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def publish(self, exchange: str, messages: Sequence[OutgoingMessage]) -> int:
        time.sleep(0.005)
        self.sent.update(message.message_id for message in messages)
        return len(messages)

    def close(self) -> None:
        pass
