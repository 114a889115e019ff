"""The event store on SQLAlchemy Core: append inside a unit of work, read streams and the feed.

Readers that tail the log (the feed, the relay) must never skip an event, so on PostgreSQL every
append takes one transaction-scoped advisory lock before it assigns positions: appends commit in
position order. On SQLite, BEGIN IMMEDIATE serializes writers the same way.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, text

from backtrack_shared.db import UnitOfWork, as_utc, is_postgresql
from traininglog.adapters.tables import event_outbox, events
from traininglog.domain.append import NewEvent, StoredRef

APPEND_LOCK_KEY = 0x6576_656E_7473


@dataclass(frozen=True)
class RowToAppend:
    event: NewEvent
    stream_version: int


def stored_envelope(row: RowMapping) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(row["body"])
    envelope["recorded_at"] = as_utc(row["recorded_at"]).isoformat()
    envelope["stream_version"] = row["stream_version"]
    envelope["position"] = row["position"]
    return envelope


class SqlAlchemyEventStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_for_append(self) -> None:
        if is_postgresql(self._connection):
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY}
            )

    def find(self, event_ids: Iterable[str]) -> dict[str, StoredRef]:
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        rows = self._connection.execute(
            select(
                events.c.event_id,
                events.c.user_id,
                events.c.stream_version,
                events.c.position,
                events.c.body_hash,
            ).where(events.c.event_id.in_(ids))
        )
        return {row.event_id: StoredRef(**row._mapping) for row in rows}

    def stream_heads(self, user_ids: Iterable[str]) -> dict[str, int]:
        users = sorted(set(user_ids))
        if not users:
            return {}
        rows = self._connection.execute(
            select(events.c.user_id, func.max(events.c.stream_version))
            .where(events.c.user_id.in_(users))
            .group_by(events.c.user_id)
        )
        return {user_id: version for user_id, version in rows}

    def append(self, rows: Sequence[RowToAppend], recorded_at: datetime) -> list[int]:
        """Insert the events and their outbox rows; return their positions, in order."""
        if not rows:
            return []
        result = self._connection.execute(
            insert(events).returning(events.c.position, sort_by_parameter_order=True),
            [
                {
                    "event_id": row.event.event_id,
                    "user_id": row.event.user_id,
                    "stream_version": row.stream_version,
                    "type": row.event.type,
                    "schema_version": row.event.schema_version,
                    "occurred_at": row.event.occurred_at,
                    "recorded_at": recorded_at,
                    "body_hash": row.event.body_hash,
                    "body": row.event.body,
                }
                for row in rows
            ],
        )
        positions = [position for (position,) in result]
        self._connection.execute(insert(event_outbox), [{"position": p} for p in positions])
        return positions


class SqlAlchemyUnitOfWork(UnitOfWork):
    events: SqlAlchemyEventStore

    def _attach(self, connection: Connection) -> None:
        self.events = SqlAlchemyEventStore(connection)


class SqlAlchemyEventReader:
    """Reads for the HTTP API: a user's stream and the global feed, in pages."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def stream(self, user_id: str, after_version: int, limit: int) -> list[dict[str, Any]]:
        query = (
            select(events)
            .where(events.c.user_id == user_id, events.c.stream_version > after_version)
            .order_by(events.c.stream_version)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [stored_envelope(row) for row in connection.execute(query).mappings()]

    def head(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(select(func.max(events.c.position))).scalar_one() or 0

    def feed(self, after_position: int, limit: int) -> list[dict[str, Any]]:
        query = (
            select(events)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [stored_envelope(row) for row in connection.execute(query).mappings()]
