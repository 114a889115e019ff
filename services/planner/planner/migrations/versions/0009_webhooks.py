"""Webhook endpoints per client, and their deliveries (pending, delivered, dead).

Revision ID: 0009_webhooks
Revises: 0008_partition_claims
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_webhooks"
down_revision = "0008_partition_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planner_webhook_endpoints",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("endpoint_id", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("verified_at", sa.Float, nullable=True),
        sa.Column("next_verification_at", sa.Float, nullable=False),
        sa.Column("verification_attempts", sa.Integer, nullable=False),
    )
    op.create_table(
        "planner_webhook_deliveries",
        sa.Column("delivery_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_planner_webhook_deliveries_due",
        "planner_webhook_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("planner_webhook_deliveries")
    op.drop_table("planner_webhook_endpoints")
