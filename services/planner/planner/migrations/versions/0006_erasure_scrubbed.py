"""Erasures note when the user's dead letters were purged and the files scrubbed. Erasures made
before this revision are left to scrub: their dead letters may still be in the queue.

Revision ID: 0006_erasure_scrubbed
Revises: 0005_ids_per_client
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_erasure_scrubbed"
down_revision = "0005_ids_per_client"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("planner_erasures") as batch:
        batch.add_column(sa.Column("scrubbed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planner_erasures") as batch:
        batch.drop_column("scrubbed_at")
