"""The hand-written migrations build exactly the tables the code declares, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from planner.adapters.tables import metadata as planner_metadata
from traininglog.adapters.tables import metadata as traininglog_metadata

pytestmark = pytest.mark.integration


def _table_of(difference: tuple) -> str | None:
    kind, item = difference[0], difference[1]
    if kind in ("add_table", "remove_table"):
        return item.name  # type: ignore[no-any-return]
    if kind in ("add_index", "remove_index"):
        return item.table.name  # type: ignore[no-any-return]
    return None  # column-level differences: always relevant


@pytest.mark.parametrize(
    "metadata", [traininglog_metadata, planner_metadata], ids=["traininglog", "planner"]
)
def test_migrated_schema_equals_the_declared_tables(engine: Engine, metadata):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    # Both services' tables share the test database; only this service's tables are compared.
    ours = {table.name for table in metadata.sorted_tables}
    relevant = [d for d in differences if _table_of(d) in ours | {None}]
    assert relevant == []
