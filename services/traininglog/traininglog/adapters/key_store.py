"""The users' data keys, in a database of their own (DESIGN.md "Trust boundaries"): a copy of
the event store alone, a backup say, holds sealed bodies and no key that opens them.

A key is known by a random key id, which the event store's user row names; the key store holds
nothing else of the user. Deleting a key is a DELETE of its row, followed by a scrub of the
files (SQLite write-ahead log truncated, PostgreSQL table rewritten), so no copy of it stays
readable in the key database either; on PostgreSQL the deletion also tells every traininglog
process to forget the keys it holds in memory (key_cache.py).
"""

import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backtrack_shared.db import WRITE, one_statement, scrub
from traininglog.adapters.key_cache import KEYS_DELETED_CHANNEL, KeyCache
from traininglog.adapters.sealing import new_data_key

# Keys committed ahead for users not seen yet (`new_keys`).
KEY_STOCK = 64

metadata = MetaData()

data_keys = Table(
    "data_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("data_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class SqlAlchemyKeyStore:
    def __init__(self, engine: Engine, cache: KeyCache | None = None) -> None:
        self.engine = engine
        self._cache = cache or KeyCache()  # without a listener it holds nothing
        self._stock: list[tuple[str, bytes]] = []
        self._stock_lock = threading.Lock()

    def new_keys(self, count: int) -> list[tuple[str, bytes]]:
        """`count` new keys (key id, key), already committed in the key store: taken from a stock
        that one insert tops up, so that a user seen for the first time costs an append no
        transaction of its own in the key database. A key of the stock that never seals a body
        (the process stopped first) is left over, as the key of an append that failed is: a
        key that opens nothing."""
        with self._stock_lock:
            if len(self._stock) < count:
                made = {str(uuid.uuid4()): new_data_key() for _ in range(count + KEY_STOCK)}
                self.add(made)
                self._stock.extend(made.items())
            taken, self._stock = self._stock[:count], self._stock[count:]
        return taken

    def add(self, keys: Mapping[str, bytes]) -> None:
        """Keep these keys (key id -> key), committed before the bodies they seal are. Adding a
        key id again with the same key changes nothing (a migration run twice)."""
        if not keys:
            return
        dialect_insert = (
            postgresql_insert if self.engine.dialect.name == "postgresql" else (sqlite_insert)
        )
        now = datetime.now(UTC)
        _, generation = self._cache.known(())
        with self.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(
                dialect_insert(data_keys).on_conflict_do_nothing(),
                [{"key_id": k, "data_key": key, "created_at": now} for k, key in keys.items()],
            )
        self._cache.keep(keys, generation)

    def get(self, key_ids: Iterable[str | None]) -> dict[str, bytes]:
        """The keys of these ids that exist (an erased user's is gone)."""
        ids = sorted({key_id for key_id in key_ids if key_id is not None})
        found, generation = self._cache.known(ids)
        missing = [key_id for key_id in ids if key_id not in found]
        if not missing:
            return found
        with one_statement(self.engine) as connection:
            rows = connection.execute(
                select(data_keys.c.key_id, data_keys.c.data_key).where(
                    data_keys.c.key_id.in_(missing)
                )
            )
            read = {key_id: key for key_id, key in rows}
        self._cache.keep(read, generation)
        return found | read

    def delete(self, key_ids: Iterable[str]) -> None:
        """Delete these keys, and leave no copy of them readable in the key database's files."""
        ids = sorted(set(key_ids))
        if not ids:
            return
        with self.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(delete(data_keys).where(data_keys.c.key_id.in_(ids)))
            if self.engine.dialect.name == "postgresql":  # heard by every process once committed
                connection.execute(select(func.pg_notify(KEYS_DELETED_CHANNEL, "")))
        self._cache.forget_all()
        scrub(self.engine, [data_keys.name], rewrite=True)
