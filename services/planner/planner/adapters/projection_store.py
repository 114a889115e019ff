"""The planner's store on SQLAlchemy Core: applied events, routine versions and the outbox,
all written in one transaction per applied event, so a redelivered message changes nothing."""

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.relay import PendingMessage
from backtrack_shared.broker.topology import partition_key
from backtrack_shared.contracts import upcast
from backtrack_shared.contracts.registry import (
    ACCESS_EVENT_TYPES,
    ACCESS_GRANTED,
    SYSTEM_EVENT_TYPES,
)
from backtrack_shared.db import WRITE, UnitOfWork, as_utc, is_postgresql, one_at_a_time
from backtrack_shared.user_key import UserKey, key_of
from planner.adapters.tables import (
    planner_checkpoints,
    planner_erasures,
    planner_events,
    planner_outbox,
    planner_routine_versions,
    planner_unapplied_events,
    planner_user_grants,
    planner_user_tenants,
    planner_users,
    planner_webhook_deliveries,
)
from planner.domain import LoggedEvent
from planner.domain.failsafe import Unapplied
from planner.domain.versions import RoutineVersion


def logged_event(envelope: dict[str, Any]) -> LoggedEvent:
    """A stored envelope as the rules read it: the payload upcast to the latest version."""
    _, payload = upcast(envelope["type"], envelope["schema_version"], envelope["payload"])
    return LoggedEvent(
        event_id=envelope["event_id"],
        type=envelope["type"],
        user_id=envelope["user_id"],
        occurred_at=datetime.fromisoformat(envelope["occurred_at"]),
        stream_version=envelope["stream_version"],
        position=envelope["position"],
        source=envelope["source"],
        payload=payload,
        tenant=envelope["tenant"],
    )


def _for_the_rules(bodies: Iterable[Any]) -> list[LoggedEvent]:
    events = (logged_event(json.loads(body)) for (body,) in bodies)
    return [event for event in events if event.type not in SYSTEM_EVENT_TYPES]


def routine_version_from_row(row: RowMapping) -> RoutineVersion:
    return RoutineVersion(
        tenant=row["tenant"],
        user_id=row["user_id"],
        version=row["version"],
        rules_version=row["rules_version"],
        as_of=as_utc(row["as_of"]),
        applied_position=row["applied_position"],
        caused_by=json.loads(row["caused_by"]),
        changes=json.loads(row["changes"]),
        routine=json.loads(row["routine"]),
    )


# The tenant of an erasure recorded before ids were per client (migration 0005).
LEGACY_ERASURE_TENANT = ""

EventKey = tuple[str, str]  # (tenant, event_id): event ids are unique per owning client


def event_key(envelope: dict[str, Any]) -> EventKey:
    return (envelope["tenant"], envelope["event_id"])


def _user_is(table: Any, user: UserKey) -> Any:
    return (table.c.tenant == user.tenant) & (table.c.user_id == user.user_id)


@dataclass(frozen=True)
class UserState:
    user_id: str
    applied_position: int
    routine_version: int
    tenant: str = ""

    @property
    def user(self) -> UserKey:
        return UserKey(self.tenant, self.user_id)


# A full rebuild forgets every projection first: while it runs no other instance may apply.
_REBUILD_LOCK = text("SELECT pg_advisory_lock(hashtextextended('planner-rebuild-all', 0))")
_REBUILD_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended('planner-rebuild-all', 0))")
_NOT_REBUILDING = text(
    "SELECT pg_try_advisory_xact_lock_shared(hashtextextended('planner-rebuild-all', 0))"
)


class RebuildRunning(Exception):
    """A planner instance rebuilds every projection: apply again once it is done."""


class SqlAlchemyProjectionStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def shared_by_instances(self) -> bool:
        """Whether several planner processes may write here at once (PostgreSQL)."""
        return is_postgresql(self._connection)

    def hold_for_rebuild(self) -> None:
        """Keep every other writer out, across transactions, until release_rebuild() (or the
        connection's end): waits for the applications under way to commit, after which every
        lock_users() but the rebuild's own raises RebuildRunning. PostgreSQL only."""
        if is_postgresql(self._connection):
            self._connection.execute(_REBUILD_LOCK)

    def release_rebuild(self) -> None:
        if is_postgresql(self._connection):
            self._connection.execute(_REBUILD_UNLOCK)

    def lock_users(self, users: Iterable[UserKey], *, rebuilding: bool = False) -> None:
        """Hold these users until the transaction ends: planner instances (one partition's
        consumer, another's catch-up or gap filling, a rebuild) then apply a user one at a time,
        each reading what the previous committed. PostgreSQL's transaction-scoped advisory
        locks, taken in one order so two transactions never wait on each other; SQLite has one
        writer at a time already. Call it first in the transaction: under READ COMMITTED, every
        later read sees the previous holder's commit."""
        if not is_postgresql(self._connection):
            return
        if not rebuilding and not self._connection.execute(_NOT_REBUILDING).scalar_one():
            raise RebuildRunning("another planner instance rebuilds every projection")
        keys = sorted({f"planner-user:{partition_key(*user)}" for user in users})
        if keys:
            self._connection.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                    "FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS locks"
                ),
                {"keys": keys},
            )

    def known_event_ids(self, event_keys: Sequence[EventKey]) -> set[EventKey]:
        """Which of these (tenant, event_id) are applied already."""
        keys = sorted(set(event_keys))
        if not keys:
            return set()
        query = select(planner_events.c.tenant, planner_events.c.event_id).where(
            tuple_(planner_events.c.tenant, planner_events.c.event_id).in_(keys)
        )
        return {(tenant, event_id) for tenant, event_id in self._connection.execute(query)}

    def add_events(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Store applied events, and note the users not seen before."""
        if not envelopes:
            return
        known = {key_of(envelope) for envelope in envelopes}
        dialect_insert = postgresql_insert if is_postgresql(self._connection) else sqlite_insert
        self._connection.execute(
            dialect_insert(planner_user_tenants).on_conflict_do_nothing(),
            [{"user_id": user.user_id, "tenant": user.tenant} for user in sorted(known)],
        )
        self._connection.execute(
            insert(planner_events),
            [
                {
                    "tenant": envelope["tenant"],
                    "event_id": envelope["event_id"],
                    "user_id": envelope["user_id"],
                    "occurred_at": datetime.fromisoformat(envelope["occurred_at"]).astimezone(UTC),
                    "stream_version": envelope["stream_version"],
                    "position": envelope["position"],
                    "body": json.dumps(envelope, separators=(",", ":"), sort_keys=True),
                }
                for envelope in envelopes
            ],
        )

    def history(self, user: UserKey) -> list[LoggedEvent]:
        """What the rules read of the user: their events (not the services' own, nor those set
        aside as unapplied), in history order."""
        set_aside = select(planner_unapplied_events.c.event_id).where(
            _user_is(planner_unapplied_events, user)
        )
        query = (
            select(planner_events.c.body)
            .where(_user_is(planner_events, user), ~planner_events.c.event_id.in_(set_aside))
            .order_by(planner_events.c.occurred_at, planner_events.c.stream_version)
        )
        return _for_the_rules(self._connection.execute(query))

    def history_in_applied_order(self, user: UserKey) -> list[LoggedEvent]:
        """In feed position order: the order one consumer of the feed applies them in."""
        query = (
            select(planner_events.c.body)
            .where(_user_is(planner_events, user))
            .order_by(planner_events.c.position)
        )
        return _for_the_rules(self._connection.execute(query))

    def absorb_access_changes(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Record the grants and revocations among `envelopes`; one older than what is recorded
        for that user and client (a late redelivery) changes nothing."""
        for envelope in envelopes:
            if envelope["type"] not in ACCESS_EVENT_TYPES:
                continue
            user, client_id = key_of(envelope), envelope["payload"]["client_id"]
            granted, position = envelope["type"] == ACCESS_GRANTED, envelope["position"]
            key = _user_is(planner_user_grants, user) & (
                planner_user_grants.c.client_id == client_id
            )
            recorded = self._connection.execute(
                select(planner_user_grants.c.position).where(key)
            ).scalar_one_or_none()
            if recorded is None:
                self._connection.execute(
                    insert(planner_user_grants).values(
                        tenant=user.tenant,
                        user_id=user.user_id,
                        client_id=client_id,
                        granted=granted,
                        position=position,
                    )
                )
            elif recorded < position:
                self._connection.execute(
                    update(planner_user_grants)
                    .where(key)
                    .values(granted=granted, position=position)
                )

    def unapplied(self, users: Iterable[UserKey]) -> dict[UserKey, list[Unapplied]]:
        """Each user's events set aside, in the order they were applied (users with none are
        absent)."""
        keys = sorted(set(users))
        if not keys:
            return {}
        table = planner_unapplied_events
        query = (
            select(table)
            .where(tuple_(table.c.tenant, table.c.user_id).in_(keys))
            .order_by(table.c.position)
        )
        found: dict[UserKey, list[Unapplied]] = {}
        for row in self._connection.execute(query).mappings():
            found.setdefault(UserKey(row["tenant"], row["user_id"]), []).append(
                Unapplied(
                    row["event_id"],
                    row["error"],
                    tuple(json.loads(row["red_flags"])),
                    row["position"],
                )
            )
        return found

    def set_aside(self, user: UserKey, unapplied: Sequence[Unapplied]) -> None:
        if not unapplied:
            return
        self._connection.execute(
            insert(planner_unapplied_events),
            [
                {
                    "tenant": user.tenant,
                    "event_id": u.event_id,
                    "user_id": user.user_id,
                    "position": u.position,
                    "error": u.error,
                    "red_flags": json.dumps(list(u.red_flags)),
                }
                for u in unapplied
            ],
        )

    def users_without_routine(self, limit: int) -> list[UserKey]:
        """Users whose events are stored but not folded yet: a rebuild's second phase."""
        folded = select(planner_users.c.tenant, planner_users.c.user_id)
        query = (
            select(planner_events.c.tenant, planner_events.c.user_id)
            .where(~tuple_(planner_events.c.tenant, planner_events.c.user_id).in_(folded))
            .group_by(planner_events.c.tenant, planner_events.c.user_id)
            .order_by(planner_events.c.tenant, planner_events.c.user_id)
            .limit(limit)
        )
        return [UserKey(tenant, user_id) for tenant, user_id in self._connection.execute(query)]

    def last_stream_version(self, user: UserKey) -> int:
        query = select(func.max(planner_events.c.stream_version)).where(
            _user_is(planner_events, user)
        )
        return self._connection.execute(query).scalar_one() or 0

    def erased(self, events: Iterable[tuple[UserKey, int]]) -> set[UserKey]:
        """Which users of these (user, feed position of one of their events) were erased. An
        erasure from before ids were per client names no tenant: it covers the events of its
        user id from before it, which were all that one user's (ids were one namespace then)."""
        earliest: dict[UserKey, int] = {}
        for user, position in events:
            earliest[user] = min(position, earliest.get(user, position))
        if not earliest:
            return set()
        legacy = planner_erasures.c.tenant == LEGACY_ERASURE_TENANT
        query = select(
            planner_erasures.c.tenant, planner_erasures.c.user_id, planner_erasures.c.position
        ).where(
            or_(
                tuple_(planner_erasures.c.tenant, planner_erasures.c.user_id).in_(sorted(earliest)),
                legacy & planner_erasures.c.user_id.in_(sorted({u.user_id for u in earliest})),
            )
        )
        found = set()
        for tenant, user_id, position in self._connection.execute(query):
            if tenant != LEGACY_ERASURE_TENANT:
                found.add(UserKey(tenant, user_id))
                continue
            found |= {
                user
                for user, first in earliest.items()
                if user.user_id == user_id and first < position
            }
        return found

    def erase(self, user: UserKey, position: int, erased_at: datetime) -> None:
        """Drop everything the planner holds of the user, their unsent routine messages too,
        and remember the erasure so that their late events are dropped as well."""
        self.forget(user)
        self._connection.execute(delete(planner_outbox).where(_user_is(planner_outbox, user)))
        self._connection.execute(
            delete(planner_webhook_deliveries).where(
                (planner_webhook_deliveries.c.client_id == user.tenant)
                & (planner_webhook_deliveries.c.user_id == user.user_id)
            )
        )
        dialect_insert = postgresql_insert if is_postgresql(self._connection) else sqlite_insert
        self._connection.execute(
            dialect_insert(planner_erasures)
            .values(
                tenant=user.tenant,
                user_id=user.user_id,
                position=position,
                erased_at=erased_at.astimezone(UTC),
            )
            .on_conflict_do_nothing()
        )

    def erasures_to_scrub(self) -> list[UserKey]:
        """Users erased whose dead letters and deleted rows may still be readable."""
        query = (
            select(planner_erasures.c.tenant, planner_erasures.c.user_id)
            .where(planner_erasures.c.scrubbed_at.is_(None))
            .order_by(planner_erasures.c.position)
        )
        return [UserKey(tenant, user_id) for tenant, user_id in self._connection.execute(query)]

    def erasures_scrubbed(self, users: Sequence[UserKey], at: datetime) -> None:
        if users:
            self._connection.execute(
                update(planner_erasures)
                .where(tuple_(planner_erasures.c.tenant, planner_erasures.c.user_id).in_(users))
                .values(scrubbed_at=at.astimezone(UTC))
            )

    def forget(self, user: UserKey | None = None) -> None:
        """Delete the projections of one user, or of everyone: they are rebuilt from the feed."""
        for table in (
            planner_events,
            planner_routine_versions,
            planner_users,
            planner_user_tenants,
            planner_user_grants,
            planner_unapplied_events,
        ):
            statement = delete(table)
            if user is not None:
                statement = statement.where(_user_is(table, user))
            self._connection.execute(statement)

    def checkpoint(self, name: str) -> int | None:
        query = select(planner_checkpoints.c.position).where(planner_checkpoints.c.name == name)
        return self._connection.execute(query).scalar_one_or_none()

    def set_checkpoint(self, name: str, position: int | None) -> None:
        """Move (or, with None, remove) a checkpoint: an upsert, since two readers of the feed
        (the catch-up on start and the periodic one) may both move it."""
        if position is None:
            self._connection.execute(
                delete(planner_checkpoints).where(planner_checkpoints.c.name == name)
            )
            return
        dialect_insert = postgresql_insert if is_postgresql(self._connection) else sqlite_insert
        statement = dialect_insert(planner_checkpoints).values(name=name, position=position)
        self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[planner_checkpoints.c.name],
                set_={"position": statement.excluded.position},
            )
        )

    def user(self, user: UserKey) -> UserState | None:
        row = (
            self._connection.execute(select(planner_users).where(_user_is(planner_users, user)))
            .mappings()
            .first()
        )
        return UserState(**row) if row else None

    def users(self, user_keys: Iterable[UserKey]) -> dict[UserKey, UserState]:
        keys = sorted(set(user_keys))
        if not keys:
            return {}
        query = select(planner_users).where(
            tuple_(planner_users.c.tenant, planner_users.c.user_id).in_(keys)
        )
        states = (UserState(**row) for row in self._connection.execute(query).mappings())
        return {state.user: state for state in states}

    def save_users(self, states: Iterable[UserState], *, new_user_ids: set[UserKey]) -> None:
        """`new_user_ids`: the users of `states` not saved before."""
        rows = [
            {
                "tenant": s.tenant,
                "user_id": s.user_id,
                "applied_position": s.applied_position,
                "routine_version": s.routine_version,
            }
            for s in states
        ]
        is_new = [UserKey(row["tenant"], row["user_id"]) in new_user_ids for row in rows]
        new = [row for row, fresh in zip(rows, is_new, strict=True) if fresh]
        known = [
            {**row, "key_tenant": row["tenant"], "key_user_id": row["user_id"]}
            for row, fresh in zip(rows, is_new, strict=True)
            if not fresh
        ]
        if new:
            self._connection.execute(insert(planner_users), new)
        if known:
            self._connection.execute(
                update(planner_users)
                .where(
                    planner_users.c.tenant == bindparam("key_tenant"),
                    planner_users.c.user_id == bindparam("key_user_id"),
                )
                .values(
                    applied_position=bindparam("applied_position"),
                    routine_version=bindparam("routine_version"),
                ),
                known,
            )

    def current_versions(self, states: Iterable[UserState]) -> dict[UserKey, RoutineVersion]:
        """Each user's current routine version, in one query."""
        keys = [(s.tenant, s.user_id, s.routine_version) for s in states if s.routine_version]
        if not keys:
            return {}
        table = planner_routine_versions
        query = select(table).where(
            tuple_(table.c.tenant, table.c.user_id, table.c.version).in_(keys)
        )
        versions = (
            routine_version_from_row(row) for row in self._connection.execute(query).mappings()
        )
        return {version.user: version for version in versions}

    def routine_version(self, user: UserKey, version: int) -> RoutineVersion | None:
        row = (
            self._connection.execute(
                select(planner_routine_versions).where(
                    _user_is(planner_routine_versions, user),
                    planner_routine_versions.c.version == version,
                )
            )
            .mappings()
            .first()
        )
        return routine_version_from_row(row) if row else None

    def add_routine_versions(self, versions: Sequence[RoutineVersion]) -> None:
        if not versions:
            return
        self._connection.execute(
            insert(planner_routine_versions),
            [
                {
                    "tenant": version.tenant,
                    "user_id": version.user_id,
                    "version": version.version,
                    "rules_version": version.rules_version,
                    "as_of": version.as_of.astimezone(UTC),
                    "applied_position": version.applied_position,
                    "caused_by": json.dumps(version.caused_by),
                    "changes": json.dumps(version.changes, sort_keys=True),
                    "routine": json.dumps(version.routine, sort_keys=True),
                }
                for version in versions
            ],
        )

    def add_to_outbox(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        self._connection.execute(
            insert(planner_outbox),
            [
                {
                    "routing_key": m.routing_key,
                    "message_id": m.message_id,
                    "body": m.body.decode(),
                    "user_id": m.headers.get("user_id"),
                    "tenant": m.headers.get("tenant"),
                }
                for m in messages
            ],
        )


class SqlAlchemyUnitOfWork(UnitOfWork):
    store: SqlAlchemyProjectionStore

    def _attach(self, connection: Connection) -> None:
        self.store = SqlAlchemyProjectionStore(connection)


class SqlAlchemyPlannerReader:
    """Reads for the HTTP API."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def current(self, user: UserKey) -> tuple[UserState, RoutineVersion] | None:
        with self._engine.connect() as connection:
            store = SqlAlchemyProjectionStore(connection)
            state = store.user(user)
            if state is None or state.routine_version == 0:
                return None
            version = store.routine_version(user, state.routine_version)
        return (state, version) if version else None

    def access(self, user: UserKey) -> tuple[str, frozenset[str]] | None:
        """The client application whose user this is, and the clients granted access to them
        (None: no such user, or erased)."""
        with self._engine.connect() as connection:
            tenant = connection.execute(
                select(planner_user_tenants.c.tenant).where(_user_is(planner_user_tenants, user))
            ).scalar_one_or_none()
            if tenant is None:
                return None
            grantees = connection.execute(
                select(planner_user_grants.c.client_id).where(
                    _user_is(planner_user_grants, user), planner_user_grants.c.granted
                )
            ).scalars()
            return tenant, frozenset(grantees)

    def history(self, user: UserKey) -> list[RoutineVersion]:
        query = (
            select(planner_routine_versions)
            .where(_user_is(planner_routine_versions, user))
            .order_by(planner_routine_versions.c.version)
        )
        with self._engine.connect() as connection:
            return [routine_version_from_row(row) for row in connection.execute(query).mappings()]

    def events(self, user: UserKey) -> list[LoggedEvent]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).history(user)

    def erased(self, user: UserKey) -> bool:
        """Whether the user was erased (the planner then holds nothing of theirs)."""
        with self._engine.connect() as connection:
            return user in SqlAlchemyProjectionStore(connection).erased([(user, 0)])

    def events_in_applied_order(self, user: UserKey) -> list[LoggedEvent]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).history_in_applied_order(user)

    def checkpoint(self, name: str) -> int | None:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).checkpoint(name)

    def unapplied(self, user: UserKey) -> list[Unapplied]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).unapplied([user]).get(user, [])

    def users_with_unapplied_events(self) -> int:
        """How many users have an event the rules could not fold (their routines are paused)."""
        users = select(planner_unapplied_events.c.tenant, planner_unapplied_events.c.user_id)
        query = select(func.count()).select_from(users.distinct().subquery())
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one() or 0

    def applied_head(self) -> int:
        """The highest feed position applied for any user (0 before the first)."""
        query = select(func.max(planner_users.c.applied_position))
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one() or 0


ROUTINE_RELAY_LOCK_KEY = 0x726F_7574_696E  # one routine relay at a time, however many planners


class SqlAlchemyRoutineOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def turn(self) -> contextlib.AbstractContextManager[None]:
        """A relay's turn (OutboxRelay's `turn`): every planner process relays the one outbox,
        and without turns each would send every routine update."""
        return one_at_a_time(self._engine, ROUTINE_RELAY_LOCK_KEY)

    def pending(self, limit: int) -> list[PendingMessage]:
        query = select(planner_outbox).order_by(planner_outbox.c.id).limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            PendingMessage(
                outbox_id=row["id"],
                message=OutgoingMessage(
                    routing_key=row["routing_key"],
                    body=row["body"].encode(),
                    message_id=row["message_id"],
                    headers={"user_id": row["user_id"], "tenant": row["tenant"]},
                ),
            )
            for row in rows
        ]

    def mark_published(self, outbox_ids: Sequence[int]) -> None:
        with self._engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(delete(planner_outbox).where(planner_outbox.c.id.in_(outbox_ids)))

    def backlog(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(planner_outbox)).scalar_one()
