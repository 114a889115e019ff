"""Webhook endpoints and deliveries in the planner's database (SQLAlchemy)."""

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from backtrack_shared.db import WRITE
from planner.adapters.tables import planner_erasures as erasures
from planner.adapters.tables import planner_webhook_deliveries as deliveries
from planner.adapters.tables import planner_webhook_endpoints as endpoints

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

_ITS_ENDPOINT = (endpoints.c.client_id == deliveries.c.client_id) & (
    endpoints.c.endpoint_id == deliveries.c.endpoint_id
)


@dataclass(frozen=True)
class Endpoint:
    client_id: str
    endpoint_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    verified: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    client_id: str
    endpoint_id: str
    user_id: str
    event_type: str
    body: str
    state: str
    attempts: int
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "endpoint_id": self.endpoint_id,
            "user_id": self.user_id,
            "event_type": self.event_type,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "body": json.loads(self.body),
        }


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes, base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        client_id=row.client_id,
        endpoint_id=row.endpoint_id,
        url=row.url,
        event_types=tuple(json.loads(row.event_types)),
        secret=row.secret,
        verified=row.verified_at is not None,
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row.delivery_id,
        client_id=row.client_id,
        endpoint_id=row.endpoint_id,
        user_id=row.user_id,
        event_type=row.event_type,
        body=row.body,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
    )


class SqlAlchemyWebhookStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> Any:
        return self._engine.connect().execution_options(**WRITE)

    # --- endpoints ---------------------------------------------------------------------

    def put_endpoint(
        self, client_id: str, endpoint_id: str, url: str, event_types: Sequence[str]
    ) -> tuple[Endpoint, str | None]:
        """Register or change an endpoint; the secret is returned when it is new (None when the
        endpoint existed: its secret stays). A new or moved URL is verified again."""
        types = json.dumps(sorted(set(event_types)))
        with self._write() as connection, connection.begin():
            key = (endpoints.c.client_id == client_id) & (endpoints.c.endpoint_id == endpoint_id)
            row = connection.execute(select(endpoints).where(key)).first()
            if row is None:
                secret = new_secret()
                connection.execute(
                    insert(endpoints).values(
                        client_id=client_id,
                        endpoint_id=endpoint_id,
                        url=url,
                        event_types=types,
                        secret=secret,
                        verified_at=None,
                        next_verification_at=0.0,
                        verification_attempts=0,
                    )
                )
            else:
                secret = None
                moved = {"verified_at": None, "next_verification_at": 0.0} if row.url != url else {}
                connection.execute(
                    update(endpoints).where(key).values(url=url, event_types=types, **moved)
                )
            row = connection.execute(select(endpoints).where(key)).one()
        return _endpoint(row), secret

    def endpoints_of(self, client_id: str) -> list[Endpoint]:
        query = select(endpoints).where(endpoints.c.client_id == client_id)
        with self._engine.connect() as connection:
            return [
                _endpoint(r) for r in connection.execute(query.order_by(endpoints.c.endpoint_id))
            ]

    def delete_endpoint(self, client_id: str, endpoint_id: str) -> bool:
        key = (endpoints.c.client_id == client_id) & (endpoints.c.endpoint_id == endpoint_id)
        dkey = (deliveries.c.client_id == client_id) & (deliveries.c.endpoint_id == endpoint_id)
        with self._write() as connection, connection.begin():
            connection.execute(delete(deliveries).where(dkey))
            return bool(connection.execute(delete(endpoints).where(key)).rowcount)

    def claim_verifications(self, now: float, claim_s: float) -> list[tuple[Endpoint, int]]:
        """Unverified endpoints whose verification is due, each claimed for `claim_s` seconds:
        its next verification moves past the claim, so that no other dispatcher asks it meanwhile
        (and one killed while asking has it asked again once the claim lapses)."""
        due = (endpoints.c.verified_at.is_(None)) & (endpoints.c.next_verification_at <= now)
        with self._engine.connect() as connection:
            rows = connection.execute(select(endpoints).where(due)).all()
        claimed = []
        with self._write() as connection:
            for row in rows:
                key = (endpoints.c.client_id == row.client_id) & (
                    endpoints.c.endpoint_id == row.endpoint_id
                )
                with connection.begin():
                    taken = connection.execute(
                        update(endpoints)
                        .where(key & due)
                        .values(next_verification_at=now + claim_s)
                    ).rowcount
                if taken:
                    claimed.append((_endpoint(row), row.verification_attempts))
        return claimed

    def verification_tried(
        self, endpoint: Endpoint, *, verified: bool, now: float, next_at: float
    ) -> None:
        key = (endpoints.c.client_id == endpoint.client_id) & (
            endpoints.c.endpoint_id == endpoint.endpoint_id
        )
        values: dict[str, Any] = (
            {"verified_at": now, "verification_attempts": 0}
            if verified
            else {
                "next_verification_at": next_at,
                "verification_attempts": endpoints.c.verification_attempts + 1,
            }
        )
        with self._write() as connection, connection.begin():
            connection.execute(update(endpoints).where(key).values(**values))

    # --- deliveries --------------------------------------------------------------------

    def subscribers(self, client_id: str, event_type: str) -> list[Endpoint]:
        """The client's endpoints that want `event_type`: a tenant's users go to its own alone."""
        return [e for e in self.endpoints_of(client_id) if event_type in e.event_types]

    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        """Pending deliveries; one already there (a redelivered message) is kept as it is, and
        none is made for a user erased meanwhile."""
        with self._write() as connection:
            for row in rows:
                erased = select(erasures.c.user_id).where(
                    erasures.c.tenant == row["client_id"], erasures.c.user_id == row["user_id"]
                )
                try:
                    with connection.begin():
                        if connection.execute(erased).first() is not None:
                            continue
                        connection.execute(
                            insert(deliveries).values(
                                **row, state=PENDING, attempts=0, next_attempt_at=0.0
                            )
                        )
                except IntegrityError:
                    continue

    def claim_due(self, now: float, limit: int, claim_s: float) -> list[tuple[Delivery, Endpoint]]:
        """Up to `limit` pending deliveries whose time has come, to verified endpoints, oldest
        first, each claimed for `claim_s` seconds: its next attempt moves past the claim, so that
        no other dispatcher takes it meanwhile, and one killed while trying it has it tried again
        once the claim lapses. On PostgreSQL, dispatchers claiming at once skip each other's
        rows (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time."""
        due = (deliveries.c.state == PENDING) & (deliveries.c.next_attempt_at <= now)
        oldest = (
            select(deliveries.c.delivery_id)
            .join(endpoints, _ITS_ENDPOINT)
            .where(due, endpoints.c.verified_at.is_not(None))
            .order_by(deliveries.c.next_attempt_at, deliveries.c.delivery_id)
            .limit(limit)
            .with_for_update(of=deliveries, skip_locked=True)
        )
        with self._write() as connection, connection.begin():
            claimed = connection.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id.in_(oldest.scalar_subquery()), due)
                .values(next_attempt_at=now + claim_s)
                .returning(deliveries.c.delivery_id)
            )
            ids = claimed.scalars().all()
            rows = connection.execute(
                select(deliveries, endpoints.c.url, endpoints.c.secret, endpoints.c.event_types)
                .join(endpoints, _ITS_ENDPOINT)
                .where(deliveries.c.delivery_id.in_(ids))
                .order_by(deliveries.c.delivery_id)
            ).all()
        return [
            (
                _delivery(row),
                Endpoint(
                    row.client_id,
                    row.endpoint_id,
                    row.url,
                    tuple(json.loads(row.event_types)),
                    row.secret,
                    True,
                ),
            )
            for row in rows
        ]

    def tried(
        self, delivery_id: str, *, delivered: bool, error: str | None, next_at: float | None
    ) -> None:
        """Record a try: delivered; or failed, to be tried at `next_at`, or dead (None). A try
        that ends after another dispatcher settled the delivery (its claim had lapsed) records
        nothing."""
        state = DELIVERED if delivered else (PENDING if next_at is not None else DEAD)
        with self._write() as connection, connection.begin():
            connection.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id, deliveries.c.state == PENDING)
                .values(
                    state=state,
                    attempts=deliveries.c.attempts + 1,
                    next_attempt_at=next_at if next_at is not None else time.time(),
                    last_error=error,
                )
            )

    def counts(self) -> dict[str, int]:
        """Deliveries in each state (pending, delivered, dead), of every client."""
        query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
        with self._engine.connect() as connection:
            return {state: count for state, count in connection.execute(query)}

    def of_client(self, client_id: str, state: str) -> list[Delivery]:
        query = (
            select(deliveries)
            .where(deliveries.c.client_id == client_id, deliveries.c.state == state)
            .order_by(deliveries.c.delivery_id)
        )
        with self._engine.connect() as connection:
            return [_delivery(r) for r in connection.execute(query)]

    def redeliver(self, client_id: str, delivery_id: str) -> bool:
        """Put a dead letter of the client back, to be tried now with a fresh count of tries."""
        with self._write() as connection, connection.begin():
            changed = connection.execute(
                update(deliveries)
                .where(
                    deliveries.c.client_id == client_id,
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.state == DEAD,
                )
                .values(state=PENDING, attempts=0, next_attempt_at=0.0)
            ).rowcount
        return bool(changed)
