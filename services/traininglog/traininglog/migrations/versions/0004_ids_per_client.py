"""Ids per client: a user is keyed by (tenant, user_id), and an event id is unique per tenant.

Every event gets its owner's tenant (from `users`, which held one tenant per user id), as do
the grants; then the keys change. No body is rewritten: a stream keeps its events, versions and
positions. On SQLite the tables are rebuilt (its constraints cannot be altered), the unsent
outbox rows set aside and put back around the rebuild of `events` they refer to.

Revision ID: 0004_ids_per_client
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_ids_per_client"
down_revision = "0003"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TENANT_OF_USER = "(SELECT users.tenant FROM users WHERE users.user_id = {table}.user_id)"


def _events(tenant_first: bool) -> sa.Table:
    """`events` as it is after this revision (with `tenant_first`) or before it."""
    metadata = sa.MetaData()
    if tenant_first:
        keys: list[sa.UniqueConstraint] = [
            sa.UniqueConstraint(
                "tenant", "user_id", "stream_version", name="uq_events_user_stream_version"
            ),
            sa.UniqueConstraint("tenant", "event_id", name="uq_events_tenant_event_id"),
        ]
    else:
        keys = [
            sa.UniqueConstraint("user_id", "stream_version", name="uq_events_user_stream_version"),
            sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        ]
    return sa.Table(
        "events",
        metadata,
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=tenant_first is False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        *keys,
    )


def _users(tenant_first: bool) -> sa.Table:
    primary = ["tenant", "user_id"] if tenant_first else ["user_id"]
    return sa.Table(
        "users",
        sa.MetaData(),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("data_key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(*primary),
    )


def _grants(tenant_first: bool) -> sa.Table:
    primary = ["tenant", "user_id", "client_id"] if tenant_first else ["user_id", "client_id"]
    return sa.Table(
        "user_grants",
        sa.MetaData(),
        sa.Column("tenant", sa.String(64), nullable=not tenant_first),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(*primary),
    )


def _rebuild_on_sqlite(shape: sa.Table) -> None:
    with op.batch_alter_table(shape.name, copy_from=shape, recreate="always"):
        pass


def _rekey_on_sqlite() -> None:
    op.execute("CREATE TABLE _outbox_0004 AS SELECT position FROM event_outbox")
    op.drop_table("event_outbox")
    _rebuild_on_sqlite(_events(tenant_first=True))
    op.create_table(
        "event_outbox",
        sa.Column("position", Position, sa.ForeignKey("events.position"), primary_key=True),
    )
    op.execute("INSERT INTO event_outbox (position) SELECT position FROM _outbox_0004")
    op.drop_table("_outbox_0004")
    _rebuild_on_sqlite(_users(tenant_first=True))
    _rebuild_on_sqlite(_grants(tenant_first=True))


def _unique_named(table: str, columns: list[str]) -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint["column_names"] == columns and constraint["name"]:
            return constraint["name"]
    raise LookupError(f"no unique constraint on {table}{tuple(columns)}")


def _rekey_on_postgresql() -> None:
    op.alter_column("events", "tenant", nullable=False)
    op.alter_column("user_grants", "tenant", nullable=False)
    op.drop_constraint(_unique_named("events", ["event_id"]), "events", type_="unique")
    op.drop_constraint("uq_events_user_stream_version", "events", type_="unique")
    op.create_unique_constraint(
        "uq_events_user_stream_version", "events", ["tenant", "user_id", "stream_version"]
    )
    op.create_unique_constraint("uq_events_tenant_event_id", "events", ["tenant", "event_id"])
    op.drop_constraint("users_pkey", "users", type_="primary")
    op.create_primary_key("users_pkey", "users", ["tenant", "user_id"])
    op.drop_constraint("user_grants_pkey", "user_grants", type_="primary")
    op.create_primary_key("user_grants_pkey", "user_grants", ["tenant", "user_id", "client_id"])


def upgrade() -> None:
    op.add_column("events", sa.Column("tenant", sa.String(64), nullable=True))
    op.add_column("user_grants", sa.Column("tenant", sa.String(64), nullable=True))
    for table in ("events", "user_grants"):
        op.execute(f"UPDATE {table} SET tenant = {TENANT_OF_USER.format(table=table)}")
    if op.get_bind().dialect.name == "sqlite":
        _rekey_on_sqlite()
    else:
        _rekey_on_postgresql()


def downgrade() -> None:
    raise NotImplementedError(
        "Ids per client cannot be undone once two clients hold the same user or event id."
    )
