"""The event outbox as the relay sees it: pending messages in position order, then mark sent."""

import contextlib
from collections.abc import Sequence

from sqlalchemy import Engine, delete, func, select

from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.relay import PendingMessage
from backtrack_shared.broker.topology import PARTITION_KEY_HEADER, partition_key
from backtrack_shared.db import WRITE, one_at_a_time, one_statement
from traininglog.adapters.event_store import readable_events, stored_envelope_json
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.tables import event_outbox, events

RELAY_LOCK_KEY = 0x6F75_7462_6F78  # one relay at a time, whatever the number of processes


class SqlAlchemyEventOutbox:
    def __init__(self, engine: Engine, keys: SqlAlchemyKeyStore) -> None:
        self._engine = engine
        self._keys = keys

    def turn(self) -> contextlib.AbstractContextManager[None]:
        """A relay's turn (OutboxRelay's `turn`): every traininglog process runs a relay on the
        one outbox, and without turns each would send every message (consumers drop the copies,
        but the broker and the relays did the work twice)."""
        return one_at_a_time(self._engine, RELAY_LOCK_KEY)

    def pending(self, limit: int) -> list[PendingMessage]:
        query = (
            readable_events()
            .join(event_outbox, event_outbox.c.position == events.c.position)
            .order_by(events.c.position)
            .limit(limit)
        )
        with one_statement(self._engine) as connection:
            rows = connection.execute(query).mappings().all()
        keys = self._keys.get(row["key_id"] for row in rows)
        return [
            PendingMessage(
                outbox_id=row["position"],
                message=OutgoingMessage(
                    routing_key=row["type"],
                    body=stored_envelope_json(row, keys.get(row["key_id"])).encode(),
                    message_id=row["event_id"],
                    headers={
                        "user_id": row["user_id"],
                        "tenant": row["tenant"],
                        "stream_version": row["stream_version"],
                        "position": row["position"],
                        # Hashed by the planner's partition exchange: one queue per user.
                        PARTITION_KEY_HEADER: partition_key(row["tenant"], row["user_id"]),
                    },
                ),
            )
            for row in rows
        ]

    def mark_published(self, outbox_ids: Sequence[int]) -> None:
        sent = delete(event_outbox).where(event_outbox.c.position.in_(outbox_ids))
        if self._engine.dialect.name == "postgresql":  # one DELETE is atomic on its own
            with one_statement(self._engine) as connection:
                connection.execute(sent)
            return
        with self._engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(sent)

    def backlog(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(event_outbox)).scalar_one()
