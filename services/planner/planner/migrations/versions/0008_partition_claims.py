"""Partition claims: which planner instance consumes which partition queue, and the instances
alive, so that a new instance takes its share and a dead one's partitions move.

Revision ID: 0008_partition_claims
Revises: 0007_unapplied_events
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_partition_claims"
down_revision = "0007_unapplied_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planner_instances",
        sa.Column("instance", sa.String(128), primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_table(
        "planner_partition_claims",
        sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("instance", sa.String(128), nullable=True),
        sa.Column("renewed_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("planner_partition_claims")
    op.drop_table("planner_instances")
