"""Tenants and erasures: whose each user is, who was forgotten, and the outbox row's user.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "planner_user_tenants",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
    )
    op.create_table(
        "planner_erasures",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("position", Position, nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("planner_outbox") as table:
        table.add_column(sa.Column("user_id", sa.String(64), nullable=True))
        table.add_column(sa.Column("tenant", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planner_outbox") as table:
        table.drop_column("tenant")
        table.drop_column("user_id")
    op.drop_table("planner_erasures")
    op.drop_table("planner_user_tenants")
