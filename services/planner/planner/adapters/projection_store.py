"""The planner's store on SQLAlchemy Core: applied events, routine versions and the outbox,
all written in one transaction per applied event, so a redelivered message changes nothing."""

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
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backtrack_shared.contracts import upcast
from backtrack_shared.contracts.registry import (
    ACCESS_EVENT_TYPES,
    ACCESS_GRANTED,
    SYSTEM_EVENT_TYPES,
)
from backtrack_shared.db import WRITE, UnitOfWork, as_utc, is_postgresql
from backtrack_shared.rabbit import OutgoingMessage
from backtrack_shared.relay import PendingMessage
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
)
from planner.domain import LoggedEvent
from planner.service_layer.failsafe import Unapplied
from planner.service_layer.versions import RoutineVersion


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
    )


def _for_the_rules(bodies: Iterable[Any]) -> list[LoggedEvent]:
    events = (logged_event(json.loads(body)) for (body,) in bodies)
    return [event for event in events if event.type not in SYSTEM_EVENT_TYPES]


def routine_version_from_row(row: RowMapping) -> RoutineVersion:
    return RoutineVersion(
        user_id=row["user_id"],
        version=row["version"],
        rules_version=row["rules_version"],
        as_of=as_utc(row["as_of"]),
        applied_position=row["applied_position"],
        caused_by=json.loads(row["caused_by"]),
        changes=json.loads(row["changes"]),
        routine=json.loads(row["routine"]),
    )


@dataclass(frozen=True)
class UserState:
    user_id: str
    applied_position: int
    routine_version: int


class SqlAlchemyProjectionStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        query = select(planner_events.c.event_id).where(planner_events.c.event_id.in_(event_ids))
        return {event_id for (event_id,) in self._connection.execute(query)}

    def add_events(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Store applied events, and note the tenant of users not seen before."""
        if not envelopes:
            return
        tenants = {envelope["user_id"]: envelope["tenant"] for envelope in envelopes}
        dialect_insert = postgresql_insert if is_postgresql(self._connection) else sqlite_insert
        self._connection.execute(
            dialect_insert(planner_user_tenants).on_conflict_do_nothing(),
            [{"user_id": user_id, "tenant": tenant} for user_id, tenant in tenants.items()],
        )
        self._connection.execute(
            insert(planner_events),
            [
                {
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

    def history(self, user_id: str) -> list[LoggedEvent]:
        """What the rules read of the user: their events (not the services' own, nor those set
        aside as unapplied), in history order."""
        set_aside = select(planner_unapplied_events.c.event_id).where(
            planner_unapplied_events.c.user_id == user_id
        )
        query = (
            select(planner_events.c.body)
            .where(planner_events.c.user_id == user_id, ~planner_events.c.event_id.in_(set_aside))
            .order_by(planner_events.c.occurred_at, planner_events.c.stream_version)
        )
        return _for_the_rules(self._connection.execute(query))

    def history_in_applied_order(self, user_id: str) -> list[LoggedEvent]:
        """In feed position order: the order one consumer of the feed applies them in."""
        query = (
            select(planner_events.c.body)
            .where(planner_events.c.user_id == user_id)
            .order_by(planner_events.c.position)
        )
        return _for_the_rules(self._connection.execute(query))

    def absorb_access_changes(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Record the grants and revocations among `envelopes`; one older than what is recorded
        for that user and client (a late redelivery) changes nothing."""
        for envelope in envelopes:
            if envelope["type"] not in ACCESS_EVENT_TYPES:
                continue
            user_id, client_id = envelope["user_id"], envelope["payload"]["client_id"]
            granted, position = envelope["type"] == ACCESS_GRANTED, envelope["position"]
            key = (planner_user_grants.c.user_id == user_id) & (
                planner_user_grants.c.client_id == client_id
            )
            recorded = self._connection.execute(
                select(planner_user_grants.c.position).where(key)
            ).scalar_one_or_none()
            if recorded is None:
                self._connection.execute(
                    insert(planner_user_grants).values(
                        user_id=user_id, client_id=client_id, granted=granted, position=position
                    )
                )
            elif recorded < position:
                self._connection.execute(
                    update(planner_user_grants)
                    .where(key)
                    .values(granted=granted, position=position)
                )

    def unapplied(self, user_ids: Iterable[str]) -> dict[str, list[Unapplied]]:
        """Each user's events set aside, in the order they were applied (users with none are
        absent)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        query = (
            select(planner_unapplied_events)
            .where(planner_unapplied_events.c.user_id.in_(ids))
            .order_by(planner_unapplied_events.c.position)
        )
        found: dict[str, list[Unapplied]] = {}
        for row in self._connection.execute(query).mappings():
            found.setdefault(row["user_id"], []).append(
                Unapplied(
                    row["event_id"],
                    row["error"],
                    tuple(json.loads(row["red_flags"])),
                    row["position"],
                )
            )
        return found

    def set_aside(self, user_id: str, unapplied: Sequence[Unapplied]) -> None:
        if not unapplied:
            return
        self._connection.execute(
            insert(planner_unapplied_events),
            [
                {
                    "event_id": u.event_id,
                    "user_id": user_id,
                    "position": u.position,
                    "error": u.error,
                    "red_flags": json.dumps(list(u.red_flags)),
                }
                for u in unapplied
            ],
        )

    def users_without_routine(self, limit: int) -> list[str]:
        """Users whose events are stored but not folded yet: a rebuild's second phase."""
        query = (
            select(planner_events.c.user_id)
            .where(~planner_events.c.user_id.in_(select(planner_users.c.user_id)))
            .group_by(planner_events.c.user_id)
            .order_by(planner_events.c.user_id)
            .limit(limit)
        )
        return [user_id for (user_id,) in self._connection.execute(query)]

    def last_stream_version(self, user_id: str) -> int:
        query = select(func.max(planner_events.c.stream_version)).where(
            planner_events.c.user_id == user_id
        )
        return self._connection.execute(query).scalar_one() or 0

    def erased(self, user_ids: Iterable[str]) -> set[str]:
        ids = sorted(set(user_ids))
        if not ids:
            return set()
        query = select(planner_erasures.c.user_id).where(planner_erasures.c.user_id.in_(ids))
        return set(self._connection.execute(query).scalars())

    def erase(self, user_id: str, position: int, erased_at: datetime) -> None:
        """Drop everything the planner holds of the user, their unsent routine messages too,
        and remember the erasure so that their late events are dropped as well."""
        self.forget(user_id)
        self._connection.execute(delete(planner_outbox).where(planner_outbox.c.user_id == user_id))
        dialect_insert = postgresql_insert if is_postgresql(self._connection) else sqlite_insert
        self._connection.execute(
            dialect_insert(planner_erasures)
            .values(user_id=user_id, position=position, erased_at=erased_at.astimezone(UTC))
            .on_conflict_do_nothing()
        )

    def forget(self, user_id: str | None = None) -> None:
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
            if user_id is not None:
                statement = statement.where(table.c.user_id == user_id)
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

    def user(self, user_id: str) -> UserState | None:
        row = (
            self._connection.execute(
                select(planner_users).where(planner_users.c.user_id == user_id)
            )
            .mappings()
            .first()
        )
        return UserState(**row) if row else None

    def users(self, user_ids: Iterable[str]) -> dict[str, UserState]:
        query = select(planner_users).where(planner_users.c.user_id.in_(sorted(set(user_ids))))
        return {
            row["user_id"]: UserState(**row) for row in self._connection.execute(query).mappings()
        }

    def save_users(self, states: Iterable[UserState], *, new_user_ids: set[str]) -> None:
        rows = [
            {
                "user_id": s.user_id,
                "applied_position": s.applied_position,
                "routine_version": s.routine_version,
            }
            for s in states
        ]
        new = [row for row in rows if row["user_id"] in new_user_ids]
        known = [
            {**row, "key": row["user_id"]} for row in rows if row["user_id"] not in new_user_ids
        ]
        if new:
            self._connection.execute(insert(planner_users), new)
        if known:
            self._connection.execute(
                update(planner_users)
                .where(planner_users.c.user_id == bindparam("key"))
                .values(
                    applied_position=bindparam("applied_position"),
                    routine_version=bindparam("routine_version"),
                ),
                known,
            )

    def current_versions(self, states: Iterable[UserState]) -> dict[str, RoutineVersion]:
        """Each user's current routine version, in one query."""
        keys = [(s.user_id, s.routine_version) for s in states if s.routine_version]
        if not keys:
            return {}
        query = select(planner_routine_versions).where(
            tuple_(planner_routine_versions.c.user_id, planner_routine_versions.c.version).in_(keys)
        )
        rows = self._connection.execute(query).mappings()
        return {row["user_id"]: routine_version_from_row(row) for row in rows}

    def routine_version(self, user_id: str, version: int) -> RoutineVersion | None:
        row = (
            self._connection.execute(
                select(planner_routine_versions).where(
                    planner_routine_versions.c.user_id == user_id,
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

    def current(self, user_id: str) -> tuple[UserState, RoutineVersion] | None:
        with self._engine.connect() as connection:
            store = SqlAlchemyProjectionStore(connection)
            state = store.user(user_id)
            if state is None or state.routine_version == 0:
                return None
            version = store.routine_version(user_id, state.routine_version)
        return (state, version) if version else None

    def access(self, user_id: str) -> tuple[str, frozenset[str]] | None:
        """The client application whose user this is, and the clients granted access to them
        (None: no such user, or erased)."""
        with self._engine.connect() as connection:
            tenant = connection.execute(
                select(planner_user_tenants.c.tenant).where(
                    planner_user_tenants.c.user_id == user_id
                )
            ).scalar_one_or_none()
            if tenant is None:
                return None
            grantees = connection.execute(
                select(planner_user_grants.c.client_id).where(
                    planner_user_grants.c.user_id == user_id, planner_user_grants.c.granted
                )
            ).scalars()
            return tenant, frozenset(grantees)

    def history(self, user_id: str) -> list[RoutineVersion]:
        query = (
            select(planner_routine_versions)
            .where(planner_routine_versions.c.user_id == user_id)
            .order_by(planner_routine_versions.c.version)
        )
        with self._engine.connect() as connection:
            return [routine_version_from_row(row) for row in connection.execute(query).mappings()]

    def events(self, user_id: str) -> list[LoggedEvent]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).history(user_id)

    def events_in_applied_order(self, user_id: str) -> list[LoggedEvent]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).history_in_applied_order(user_id)

    def checkpoint(self, name: str) -> int | None:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).checkpoint(name)

    def unapplied(self, user_id: str) -> list[Unapplied]:
        with self._engine.connect() as connection:
            return SqlAlchemyProjectionStore(connection).unapplied([user_id]).get(user_id, [])

    def users_with_unapplied_events(self) -> int:
        """How many users have an event the rules could not fold (their routines are paused)."""
        query = select(func.count(func.distinct(planner_unapplied_events.c.user_id)))
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one() or 0

    def applied_head(self) -> int:
        """The highest feed position applied for any user (0 before the first)."""
        query = select(func.max(planner_users.c.applied_position))
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one() or 0


class SqlAlchemyRoutineOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

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
