"""The event store on SQLAlchemy Core: append inside a unit of work, read streams and the feed.

Readers that tail the log (the feed, the relay) must never skip an event, so on PostgreSQL every
append takes one transaction-scoped advisory lock before it assigns positions: appends commit in
position order. On SQLite, BEGIN IMMEDIATE serializes writers the same way.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError

from backtrack_shared.contracts.registry import USER_ERASED
from backtrack_shared.db import UnitOfWork, as_utc, is_postgresql, one_statement
from backtrack_shared.user_key import UserKey
from traininglog.adapters.key_store import SqlAlchemyKeyStore
from traininglog.adapters.sealing import unseal
from traininglog.adapters.tables import event_outbox, events, user_grants, users
from traininglog.domain.append import EventKey, NewEvent, Owner, StoredRef

APPEND_LOCK_KEY = 0x6576_656E_7473


@dataclass(frozen=True)
class RowToAppend:
    event: NewEvent
    stream_version: int
    stored_body: str  # the event's body as it goes to disk: sealed with its user's key


@dataclass(frozen=True)
class UserRecord:
    owner: Owner
    key_id: str | None  # the id of their key in the key store; None once erased and deleted


def _stored_fields(row: RowMapping) -> dict[str, Any]:
    """What the store adds to the body a client (or the service) wrote."""
    return {
        "recorded_at": as_utc(row["recorded_at"]).isoformat(),
        "stream_version": row["stream_version"],
        "position": row["position"],
        "tenant": row["tenant"],  # the owner: user ids and event ids are theirs
    }


def stored_envelope(row: RowMapping, key: bytes | None) -> dict[str, Any]:
    """The envelope a row of `readable_events()` stands for, opened with its user's key."""
    envelope: dict[str, Any] = json.loads(unseal(key, row["event_id"], row["body"]))
    envelope.update(_stored_fields(row))
    return envelope


def stored_envelope_json(row: RowMapping, key: bytes | None) -> str:
    """`stored_envelope` as compact JSON text, for whoever only passes it on (the relay): the
    stored fields are spliced into the body's object without decoding the body and encoding
    it again. Every stored body is a canonical JSON object (`canonical_body`), never empty and
    never holding these fields."""
    body = unseal(key, row["event_id"], row["body"])
    fields = json.dumps(_stored_fields(row), separators=(",", ":"), ensure_ascii=False)
    return f"{body[:-1]},{fields[1:]}"


def readable_events() -> Select[Any]:
    """Events with what it takes to read them, leaving out those of erased users: only the
    marker of their erasure (which holds no health data) is still handed out."""
    return (
        select(
            events.c.position,
            events.c.event_id,
            events.c.user_id,
            events.c.stream_version,
            events.c.type,
            events.c.recorded_at,
            events.c.body,
            events.c.tenant,
            users.c.key_id,
        )
        .join(users, (users.c.tenant == events.c.tenant) & (users.c.user_id == events.c.user_id))
        .where(or_(users.c.erased_at.is_(None), events.c.type == USER_ERASED))
    )


# What an append decision needs of a stored event (see StoredRef).
_STORED_REFS = select(
    events.c.event_id,
    events.c.tenant,
    events.c.user_id,
    events.c.stream_version,
    events.c.position,
    events.c.body_hash,
)


def _user_is(table: Any, user: UserKey) -> Any:
    return (table.c.tenant == user.tenant) & (table.c.user_id == user.user_id)


def _grantees(connection: Connection, keys: Sequence[UserKey]) -> dict[UserKey, frozenset[str]]:
    if not keys:
        return {}
    rows = connection.execute(
        select(user_grants.c.tenant, user_grants.c.user_id, user_grants.c.client_id).where(
            tuple_(user_grants.c.tenant, user_grants.c.user_id).in_(keys)
        )
    )
    found: dict[UserKey, set[str]] = {}
    for tenant, user_id, client_id in rows:
        found.setdefault(UserKey(tenant, user_id), set()).add(client_id)
    return {key: frozenset(clients) for key, clients in found.items()}


@dataclass(frozen=True)
class AppendState:
    """What an append decides on, read under the append lock (`lock_and_read`)."""

    users: dict[UserKey, UserRecord]
    stored: dict[EventKey, StoredRef]
    heads: dict[UserKey, int]
    last_position: int


_LAST = select(func.max(events.c.position))


def _users_query(keys: Sequence[UserKey]) -> Select[Any]:
    """Each user's row, once per grant (or once with none)."""
    return (
        select(
            users.c.user_id,
            users.c.tenant,
            users.c.key_id,
            users.c.erased_at,
            user_grants.c.client_id,
        )
        .select_from(users)
        .outerjoin(
            user_grants,
            (user_grants.c.tenant == users.c.tenant) & (user_grants.c.user_id == users.c.user_id),
        )
        .where(tuple_(users.c.tenant, users.c.user_id).in_(keys))
    )


def _user_records(rows: Iterable[Any]) -> dict[UserKey, UserRecord]:
    found: dict[UserKey, Any] = {}
    grantees: dict[UserKey, set[str]] = {}
    for row in rows:
        key = UserKey(row.tenant, row.user_id)
        found[key] = row
        if row.client_id is not None:
            grantees.setdefault(key, set()).add(row.client_id)
    return {
        key: UserRecord(
            Owner(row.tenant, row.erased_at is not None, frozenset(grantees.get(key, ()))),
            row.key_id,
        )
        for key, row in found.items()
    }


def _find_query(keys: Sequence[EventKey]) -> Select[Any]:
    return _STORED_REFS.where(tuple_(events.c.tenant, events.c.event_id).in_(keys))


def _stored_refs(rows: Iterable[Any]) -> dict[EventKey, StoredRef]:
    return {
        (row.tenant, row.event_id): StoredRef(
            event_id=row.event_id,
            tenant=row.tenant,
            user_id=row.user_id,
            stream_version=row.stream_version,
            position=row.position,
            body_hash=row.body_hash,
        )
        for row in rows
    }


def _heads_query(keys: Sequence[UserKey]) -> Select[Any]:
    return (
        select(events.c.tenant, events.c.user_id, func.max(events.c.stream_version))
        .where(tuple_(events.c.tenant, events.c.user_id).in_(keys))
        .group_by(events.c.tenant, events.c.user_id)
    )


# The reads of `lock_and_read` on PostgreSQL, as psycopg sends them: the same as `_users_query`,
# `_find_query` and `_heads_query`, the keys as two arrays (one statement for any number).
_PG_LOCK = "SELECT pg_advisory_xact_lock(%(key)s)"
_PG_USERS = """
SELECT users.user_id, users.tenant, users.key_id, users.erased_at, user_grants.client_id
FROM users LEFT OUTER JOIN user_grants
  ON user_grants.tenant = users.tenant AND user_grants.user_id = users.user_id
WHERE (users.tenant, users.user_id) IN (SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
"""
_PG_FIND = """
SELECT event_id, tenant, user_id, stream_version, position, body_hash FROM events
WHERE (tenant, event_id) IN (SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
"""
_PG_HEADS = """
SELECT tenant, user_id, max(stream_version) FROM events
WHERE (tenant, user_id) IN (SELECT * FROM unnest(%(tenants)s::text[], %(ids)s::text[]))
GROUP BY tenant, user_id
"""
_PG_LAST = "SELECT max(position) FROM events"
_PG_ADD_USERS = """
INSERT INTO users (tenant, user_id, key_id, created_at)
SELECT tenant, user_id, key_id, %(created_at)s
FROM unnest(%(tenant)s::text[], %(user_id)s::text[], %(key_id)s::text[]) AS added(tenant, user_id, key_id)
"""
# The events and their outbox rows in one statement, for any number of events (`_as_columns`).
_PG_APPEND = """
WITH appended AS (
  INSERT INTO events (position, event_id, tenant, user_id, stream_version, type, schema_version,
                      occurred_at, recorded_at, body_hash, body)
  SELECT * FROM unnest(
    %(position)s::bigint[], %(event_id)s::text[], %(tenant)s::text[], %(user_id)s::text[],
    %(stream_version)s::int[], %(type)s::text[], %(schema_version)s::int[],
    %(occurred_at)s::timestamptz[], %(recorded_at)s::timestamptz[], %(body_hash)s::text[],
    %(body)s::text[])
  RETURNING position)
INSERT INTO event_outbox (position) SELECT position FROM appended
"""


def _rows_together(
    connection: Connection, queries: Sequence[tuple[str, dict[str, Any]]]
) -> list[list[Any]]:
    """The rows of each (PostgreSQL SQL, parameters), in order (none for a write), sent to the server in one round
    trip (psycopg's pipeline mode) instead of one each. The server still runs each only once the
    one before it is done, each with a snapshot of its own (read committed): a read after the
    append lock sees every append committed before the lock was granted, exactly as if the
    statements went one at a time. Never prepared: each is planned for its own parameters.
    Errors come out as SQLAlchemy's, a dropped connection let go of, as `Connection.execute`
    does."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        cursors = [driver.cursor(row_factory=namedtuple_row) for _ in queries]
        with driver.pipeline():
            for cursor, (sql, parameters) in zip(cursors, queries, strict=True):
                cursor.execute(sql, parameters, prepare=False)
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    except psycopg.Error as err:
        dropped = connection.dialect.is_disconnect(cast(Any, err), connection.connection, None)
        if dropped:
            connection.invalidate(err)
        raise DBAPIError.instance(
            "; ".join(sql for sql, _ in queries),
            None,
            err,
            psycopg.Error,
            connection_invalidated=dropped,
            dialect=connection.dialect,
        ) from err


class SqlAlchemyEventStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_for_append(self) -> None:
        if is_postgresql(self._connection):
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY}
            )

    def stream_heads(self, user_keys: Iterable[UserKey]) -> dict[UserKey, int]:
        keys = sorted(set(user_keys))
        if not keys:
            return {}
        rows = self._connection.execute(_heads_query(keys)).all()
        return {UserKey(tenant, user_id): version for tenant, user_id, version in rows}

    def lock_and_read(self, events_to_add: Sequence[NewEvent]) -> "AppendState":
        """Take the append lock, then read what deciding to append these events takes: their
        users, those of them stored already, the users' stream heads and the last position. On
        PostgreSQL all of it goes to the server in one round trip (`_rows_together`)."""
        users_ = sorted({event.user for event in events_to_add})
        event_keys = sorted({event.key for event in events_to_add})
        if is_postgresql(self._connection):
            user_ids = {"tenants": [u.tenant for u in users_], "ids": [u.user_id for u in users_]}
            _, user_rows, stored_rows, head_rows, last_rows = _rows_together(
                self._connection,
                [
                    (_PG_LOCK, {"key": APPEND_LOCK_KEY}),
                    (_PG_USERS, user_ids),
                    (
                        _PG_FIND,
                        {"tenants": [k[0] for k in event_keys], "ids": [k[1] for k in event_keys]},
                    ),
                    (_PG_HEADS, user_ids),
                    (_PG_LAST, {}),
                ],
            )
        else:  # BEGIN IMMEDIATE took SQLite's write lock
            user_rows, stored_rows, head_rows, last_rows = (
                list(self._connection.execute(query))
                for query in (
                    _users_query(users_),
                    _find_query(event_keys),
                    _heads_query(users_),
                    _LAST,
                )
            )
        return AppendState(
            users=_user_records(user_rows),
            stored=_stored_refs(stored_rows),
            heads={UserKey(tenant, user_id): version for tenant, user_id, version in head_rows},
            last_position=last_rows[0][0] or 0,
        )

    def users(self, user_keys: Iterable[UserKey]) -> dict[UserKey, UserRecord]:
        keys = sorted(set(user_keys))
        if not keys:
            return {}
        return _user_records(self._connection.execute(_users_query(keys)).all())

    def set_access(self, user: UserKey, client_id: str, granted: bool) -> None:
        if granted:
            self._connection.execute(
                insert(user_grants).values(
                    tenant=user.tenant, user_id=user.user_id, client_id=client_id
                )
            )
        else:
            self._connection.execute(
                delete(user_grants).where(
                    _user_is(user_grants, user), user_grants.c.client_id == client_id
                )
            )

    def _add_users(self, new_users: dict[UserKey, str], created_at: datetime) -> None:
        """Users seen for the first time: (tenant, user id) -> the id of their data key."""
        if new_users:
            self._connection.execute(
                insert(users),
                [
                    {
                        "tenant": user.tenant,
                        "user_id": user.user_id,
                        "key_id": key_id,
                        "created_at": created_at,
                    }
                    for user, key_id in new_users.items()
                ],
            )

    def erase(self, user: UserKey, erased_at: datetime) -> None:
        """Mark the user erased and delete the outbox rows of events not yet sent: nothing of
        theirs is read or sent from now on. Their key goes next (`keys_to_delete`); the events
        themselves stay, sealed for good."""
        self._connection.execute(
            update(users).where(_user_is(users, user)).values(erased_at=erased_at)
        )
        self._connection.execute(
            delete(event_outbox).where(
                event_outbox.c.position.in_(select(events.c.position).where(_user_is(events, user)))
            )
        )

    def keys_to_delete(self) -> dict[UserKey, str]:
        """Erased users whose key may still be in the key store: user -> key id."""
        rows = self._connection.execute(
            select(users.c.tenant, users.c.user_id, users.c.key_id).where(
                users.c.erased_at.is_not(None), users.c.key_id.is_not(None)
            )
        )
        return {UserKey(tenant, user_id): key_id for tenant, user_id, key_id in rows}

    def keys_deleted(self, erased: Sequence[UserKey]) -> None:
        if erased:
            self._connection.execute(
                update(users)
                .where(tuple_(users.c.tenant, users.c.user_id).in_(sorted(erased)))
                .values(key_id=None)
            )

    def erasure_marker(self, user: UserKey) -> StoredRef:
        row = self._connection.execute(
            _STORED_REFS.where(_user_is(events, user), events.c.type == USER_ERASED)
        ).one()
        return StoredRef(**row._mapping)

    def append(
        self,
        rows: Sequence[RowToAppend],
        recorded_at: datetime,
        last_position: int | None = None,
        new_users: dict[UserKey, str] | None = None,
    ) -> list[int]:
        """Insert the events and their outbox rows, and the rows of `new_users` (users seen for
        the first time: user -> the id of their data key); return the events' positions, in
        order.

        Positions are the next ones after the highest stored (`last_position`, read under the
        lock, or read here): the caller holds the append lock (`lock_for_append`), so no other
        append can take them, and no RETURNING is needed to tell them. On PostgreSQL both
        tables take their rows in one statement (`_PG_APPEND`), one round trip."""
        if not rows or not is_postgresql(self._connection):
            self._add_users(new_users or {}, recorded_at)
        if not rows:
            return []
        head = (
            last_position
            if last_position is not None
            else self._connection.execute(_LAST).scalar_one() or 0
        )
        positions = list(range(head + 1, head + 1 + len(rows)))
        if is_postgresql(self._connection):
            users_first = (
                [(_PG_ADD_USERS, _users_as_columns(new_users, recorded_at))] if new_users else []
            )
            appended = (_PG_APPEND, _as_columns(rows, positions, recorded_at))
            _rows_together(self._connection, [*users_first, appended])
            return positions
        self._connection.execute(
            insert(events),
            [
                {
                    "position": position,
                    "event_id": row.event.event_id,
                    "tenant": row.event.tenant,
                    "user_id": row.event.user_id,
                    "stream_version": row.stream_version,
                    "type": row.event.type,
                    "schema_version": row.event.schema_version,
                    "occurred_at": row.event.occurred_at,
                    "recorded_at": recorded_at,
                    "body_hash": row.event.body_hash,
                    "body": row.stored_body,
                }
                for position, row in zip(positions, rows, strict=True)
            ],
        )
        self._connection.execute(insert(event_outbox), [{"position": p} for p in positions])
        return positions


def _users_as_columns(new_users: dict[UserKey, str], created_at: datetime) -> dict[str, Any]:
    """New users' rows as one array per column, for `_PG_ADD_USERS`."""
    return {
        "tenant": [user.tenant for user in new_users],
        "user_id": [user.user_id for user in new_users],
        "key_id": list(new_users.values()),
        "created_at": created_at,
    }


def _as_columns(
    rows: Sequence[RowToAppend], positions: Sequence[int], recorded_at: datetime
) -> dict[str, list[Any]]:
    """The rows to append as one array per column, for `_PG_APPEND`."""
    return {
        "position": list(positions),
        "event_id": [row.event.event_id for row in rows],
        "tenant": [row.event.tenant for row in rows],
        "user_id": [row.event.user_id for row in rows],
        "stream_version": [row.stream_version for row in rows],
        "type": [row.event.type for row in rows],
        "schema_version": [row.event.schema_version for row in rows],
        "occurred_at": [row.event.occurred_at for row in rows],
        "recorded_at": [recorded_at] * len(rows),
        "body_hash": [row.event.body_hash for row in rows],
        "body": [row.stored_body for row in rows],
    }


class SqlAlchemyUnitOfWork(UnitOfWork):
    """A transaction on the event store; `keys`, the key store beside it, commits on its own."""

    events: SqlAlchemyEventStore

    def __init__(self, engine: Engine, keys: SqlAlchemyKeyStore) -> None:
        super().__init__(engine)
        self.keys = keys

    def _attach(self, connection: Connection) -> None:
        self.events = SqlAlchemyEventStore(connection)


class SqlAlchemyEventReader:
    """Reads for the HTTP API: a user's stream and the global feed, in pages."""

    def __init__(self, engine: Engine, keys: SqlAlchemyKeyStore) -> None:
        self._engine = engine
        self._keys = keys

    def owner(self, user: UserKey) -> Owner | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(users.c.tenant, users.c.erased_at).where(_user_is(users, user))
            ).first()
            grantees = _grantees(connection, [user]) if row is not None else {}
        if row is None:
            return None
        return Owner(row.tenant, row.erased_at is not None, grantees.get(user, frozenset()))

    def stream(self, user: UserKey, after_version: int, limit: int) -> list[dict[str, Any]]:
        query = (
            readable_events()
            .where(_user_is(events, user), events.c.stream_version > after_version)
            .order_by(events.c.stream_version)
            .limit(limit)
        )
        return self._opened(query)

    def _opened(self, query: Select[Any]) -> list[dict[str, Any]]:
        with one_statement(self._engine) as connection:
            rows = connection.execute(query).mappings().all()
        keys = self._keys.get(row["key_id"] for row in rows)
        return [stored_envelope(row, keys.get(row["key_id"])) for row in rows]

    def head(self) -> int:
        with one_statement(self._engine) as connection:
            return connection.execute(select(func.max(events.c.position))).scalar_one() or 0

    def feed(self, after_position: int, limit: int) -> list[dict[str, Any]]:
        query = (
            readable_events()
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return self._opened(query)
