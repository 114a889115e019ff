"""Alembic environment: runs on the connection handed over by backtrack_shared.db.upgrade_to_head."""

from alembic import context
from sqlalchemy import text

from planner.adapters.tables import metadata

VERSION_TABLE = "alembic_version_planner"
# Any constant: two instances starting together on PostgreSQL migrate one after the other.
MIGRATION_LOCK_KEY = 0x706C_616E_6E72


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()


run_migrations()
