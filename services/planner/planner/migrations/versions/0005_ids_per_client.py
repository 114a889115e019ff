"""Ids per client: everything of a user keyed by (tenant, user_id), an event id per tenant.

Each row gets its user's tenant: from `planner_user_tenants` (one tenant per user id until
now), else from the stored envelope. Erasures recorded before this revision name no tenant
(their user's rows were dropped with the erasure): they get the tenant "" and keep dropping
the events of their user id from before their position, which were all that user's. The tables
are rebuilt with their new keys, their rows copied as they are.

Revision ID: 0005_ids_per_client
Revises: 0004
Create Date: 2026-12-01
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005_ids_per_client"
down_revision = "0004"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEGACY_ERASURE_TENANT = ""
TENANT_OF_USER = "(SELECT t.tenant FROM planner_user_tenants t WHERE t.user_id = {table}.user_id)"


def _shapes() -> list[sa.Table]:
    """The tables as this revision leaves them."""
    metadata = sa.MetaData()
    events = sa.Table(
        "planner_events",
        metadata,
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "event_id"),
    )
    sa.Index(
        "ix_planner_events_history",
        events.c.tenant,
        events.c.user_id,
        events.c.occurred_at,
        events.c.stream_version,
    )
    return [
        events,
        sa.Table(
            "planner_users",
            metadata,
            sa.Column("tenant", sa.String(64), nullable=False),
            sa.Column("user_id", sa.String(64), nullable=False),
            sa.Column("applied_position", Position, nullable=False),
            sa.Column("routine_version", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("tenant", "user_id"),
        ),
        sa.Table(
            "planner_routine_versions",
            metadata,
            sa.Column("tenant", sa.String(64), nullable=False),
            sa.Column("user_id", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("rules_version", sa.String(32), nullable=False),
            sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
            sa.Column("applied_position", Position, nullable=False),
            sa.Column("caused_by", sa.Text, nullable=False),
            sa.Column("changes", sa.Text, nullable=False),
            sa.Column("routine", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("tenant", "user_id", "version"),
        ),
        sa.Table(
            "planner_user_tenants",
            metadata,
            sa.Column("user_id", sa.String(64), nullable=False),
            sa.Column("tenant", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("user_id", "tenant"),
        ),
        sa.Table(
            "planner_user_grants",
            metadata,
            sa.Column("tenant", sa.String(64), nullable=False),
            sa.Column("user_id", sa.String(64), nullable=False),
            sa.Column("client_id", sa.String(64), nullable=False),
            sa.Column("granted", sa.Boolean, nullable=False),
            sa.Column("position", Position, nullable=False),
            sa.PrimaryKeyConstraint("tenant", "user_id", "client_id"),
        ),
        sa.Table(
            "planner_erasures",
            metadata,
            sa.Column("tenant", sa.String(64), nullable=False),
            sa.Column("user_id", sa.String(64), nullable=False),
            sa.Column("position", Position, nullable=False),
            sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "user_id"),
        ),
    ]


def _tenants_of_events() -> None:
    op.execute(
        f"UPDATE planner_events SET tenant = {TENANT_OF_USER.format(table='planner_events')}"
    )
    events = sa.table(
        "planner_events",
        sa.column("tenant", sa.String),
        sa.column("event_id", sa.String),
        sa.column("body", sa.Text),
    )
    connection = op.get_bind()
    unknown = connection.execute(
        sa.select(events.c.event_id, events.c.body).where(events.c.tenant.is_(None))
    ).all()
    for event_id, body in unknown:  # the stored envelope names its tenant
        connection.execute(
            sa.update(events)
            .where(events.c.event_id == event_id)
            .values(tenant=json.loads(body)["tenant"])
        )


def upgrade() -> None:
    for table in ("planner_events", "planner_users", "planner_routine_versions"):
        op.add_column(table, sa.Column("tenant", sa.String(64), nullable=True))
    op.add_column("planner_user_grants", sa.Column("tenant", sa.String(64), nullable=True))
    op.add_column("planner_erasures", sa.Column("tenant", sa.String(64), nullable=True))
    _tenants_of_events()
    of_events = "(SELECT e.tenant FROM planner_events e WHERE e.user_id = {table}.user_id LIMIT 1)"
    for table in ("planner_users", "planner_routine_versions", "planner_user_grants"):
        op.execute(
            f"UPDATE {table} SET tenant = COALESCE({TENANT_OF_USER.format(table=table)}, "
            f"{of_events.format(table=table)})"
        )
    op.execute(f"UPDATE planner_erasures SET tenant = '{LEGACY_ERASURE_TENANT}'")
    for shape in _shapes():
        with op.batch_alter_table(shape.name, copy_from=shape, recreate="always"):
            pass


def downgrade() -> None:
    raise NotImplementedError(
        "Ids per client cannot be undone once two clients hold the same user or event id."
    )
