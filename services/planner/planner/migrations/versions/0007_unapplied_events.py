"""Unapplied events: events the rules could not fold, set aside; their users' routines pause.

Revision ID: 0007_unapplied_events
Revises: 0006_erasure_scrubbed
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_unapplied_events"
down_revision = "0006_erasure_scrubbed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planner_unapplied_events",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("red_flags", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_planner_unapplied_events_user",
        "planner_unapplied_events",
        ["tenant", "user_id", "position"],
    )


def downgrade() -> None:
    op.drop_index("ix_planner_unapplied_events_user", "planner_unapplied_events")
    op.drop_table("planner_unapplied_events")
