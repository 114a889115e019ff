"""Alembic environment of traininglog's key database: its own table and its own version table."""

from backtrack_shared.db import run_migrations
from traininglog.adapters.key_store import metadata

# Any constant of its own: two traininglog instances starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x6B65_7973_746C

run_migrations(
    metadata, version_table="alembic_version_traininglog_keys", lock_key=MIGRATION_LOCK_KEY
)
