"""Alembic environment of the traininglog: its own tables and its own version table."""

from backtrack_shared.db import run_migrations
from traininglog.adapters.tables import metadata

# Any constant of its own: two traininglog instances starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x7472_6169_6E6C

run_migrations(metadata, version_table="alembic_version_traininglog", lock_key=MIGRATION_LOCK_KEY)
