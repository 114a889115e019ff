"""The planner's projections, routine versions and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "planner_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_planner_events_history",
        "planner_events",
        ["user_id", "occurred_at", "stream_version"],
    )
    op.create_table(
        "planner_users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("applied_position", Position, nullable=False),
        sa.Column("routine_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "planner_routine_versions",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_position", Position, nullable=False),
        sa.Column("caused_by", sa.Text, nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("routine", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "version"),
    )
    op.create_table(
        "planner_outbox",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("routing_key", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("planner_outbox")
    op.drop_table("planner_routine_versions")
    op.drop_table("planner_users")
    op.drop_index("ix_planner_events_history", "planner_events")
    op.drop_table("planner_events")
