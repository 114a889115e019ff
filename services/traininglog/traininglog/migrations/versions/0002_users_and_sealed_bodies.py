"""Users: their tenant (the client that first wrote for them) and the key sealing their events.

Events stored before this revision are sealed here under new per-user keys and given to the
tenant `legacy` (rename it with SQL if they belong to a known client). This one-time rewrite
of bodies is the only time the log is updated: from here on it is insert-only again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from traininglog.adapters.sealing import is_sealed, new_data_key, seal, unseal

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEGACY_TENANT = "legacy"


EVENTS = sa.table(
    "events",
    sa.column("position", sa.Integer),
    sa.column("event_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("body", sa.Text),
)


def upgrade() -> None:
    events = EVENTS
    users = op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("data_key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    connection = op.get_bind()
    user_ids = connection.execute(sa.select(events.c.user_id).distinct()).scalars().all()
    now = datetime.now(UTC)
    for user_id in user_ids:
        key = new_data_key()
        connection.execute(
            sa.insert(users).values(
                user_id=user_id, tenant=LEGACY_TENANT, data_key=key, created_at=now
            )
        )
        rows = connection.execute(
            sa.select(events.c.position, events.c.event_id, events.c.body).where(
                events.c.user_id == user_id
            )
        ).all()
        for position, event_id, body in rows:
            if not is_sealed(body):
                connection.execute(
                    sa.update(events)
                    .where(events.c.position == position)
                    .values(body=seal(key, event_id, body))
                )


def downgrade() -> None:
    """Open the bodies again while the keys exist; an erased user's stay sealed for good."""
    users = sa.table(
        "users", sa.column("user_id", sa.String), sa.column("data_key", sa.LargeBinary)
    )
    connection = op.get_bind()
    for user_id, key in connection.execute(
        sa.select(users.c.user_id, users.c.data_key).where(users.c.data_key.is_not(None))
    ).all():
        rows = connection.execute(
            sa.select(EVENTS.c.position, EVENTS.c.event_id, EVENTS.c.body).where(
                EVENTS.c.user_id == user_id
            )
        ).all()
        for position, event_id, body in rows:
            connection.execute(
                sa.update(EVENTS)
                .where(EVENTS.c.position == position)
                .values(body=unseal(key, event_id, body))
            )
    op.drop_table("users")
