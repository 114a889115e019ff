"""Alembic environment of the planner: its own tables and its own version table."""

from backtrack_shared.db import run_migrations
from planner.adapters.tables import metadata

# Any constant of its own: two planner instances starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x706C_616E_6E72

run_migrations(metadata, version_table="alembic_version_planner", lock_key=MIGRATION_LOCK_KEY)
