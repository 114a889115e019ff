"""Data keys leave the event store for a key database of their own (key_store.py), so that a
copy of the event store alone opens nothing. Each user row keeps the id of its key.

The key store is handed over by `traininglog.bootstrap.migrate` (attribute `key_store`); a store
with keys to move and no key store refuses to migrate. Key ids of moved keys are derived from
the user (a run interrupted and repeated moves the same keys under the same ids, and leaves no
stray copy behind). The event store's old key column is dropped and, once migrated, scrubbed
(attribute `scrub_tables`: SQLite's write-ahead log truncated, PostgreSQL's table rewritten).

Revision ID: 0005_data_keys_apart
Revises: 0004_ids_per_client
Create Date: 2026-12-01
"""

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0005_data_keys_apart"
down_revision = "0004_ids_per_client"
branch_labels = None
depends_on = None

MOVED_KEYS = uuid.UUID("5d6f1f0e-6a43-4c36-9d0c-0b7e3f1e2a91")  # namespace of moved key ids

USERS = sa.table(
    "users",
    sa.column("user_id", sa.String),
    sa.column("tenant", sa.String),
    sa.column("data_key", sa.LargeBinary),
    sa.column("key_id", sa.String),
)


def _key_store() -> Any:
    key_store = context.config.attributes.get("key_store")
    if key_store is None:
        raise RuntimeError(
            "traininglog's data keys move to their key database: migrate with "
            "`traininglog migrate` (it knows TRAININGLOG_KEYS_DATABASE_URL)"
        )
    return key_store


def upgrade() -> None:
    connection = op.get_bind()
    op.add_column("users", sa.Column("key_id", sa.String(36), nullable=True))
    keyed = connection.execute(
        sa.select(USERS.c.user_id, USERS.c.tenant, USERS.c.data_key).where(
            USERS.c.data_key.is_not(None)
        )
    ).all()
    if keyed:
        moved = {
            (tenant, user_id): (str(uuid.uuid5(MOVED_KEYS, f"{tenant}/{user_id}")), key)
            for user_id, tenant, key in keyed
        }
        _key_store().add(dict(moved.values()))  # committed first: the rows below name them
        connection.execute(
            sa.update(USERS)
            .where(USERS.c.tenant == sa.bindparam("owner"), USERS.c.user_id == sa.bindparam("user"))
            .values(key_id=sa.bindparam("key")),
            [
                {"owner": tenant, "user": user_id, "key": key_id}
                for (tenant, user_id), (key_id, _) in moved.items()
            ],
        )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("data_key")
    context.config.attributes.setdefault("scrub_tables", []).append("users")


def downgrade() -> None:
    """The keys back beside the bodies (they stay in the key database too)."""
    connection = op.get_bind()
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("data_key", sa.LargeBinary, nullable=True))
    key_ids = {
        (tenant, user_id): key_id
        for tenant, user_id, key_id in connection.execute(
            sa.select(USERS.c.tenant, USERS.c.user_id, USERS.c.key_id).where(
                USERS.c.key_id.is_not(None)
            )
        )
    }
    if key_ids:
        keys = _key_store().get(key_ids.values())
        for (tenant, user_id), key_id in key_ids.items():
            connection.execute(
                sa.update(USERS)
                .where(USERS.c.tenant == tenant, USERS.c.user_id == user_id)
                .values(data_key=keys.get(key_id))
            )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("key_id")
