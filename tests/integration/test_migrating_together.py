"""Processes that start together on one fresh SQLite file (`make run`: the planner and its
webhook dispatcher) each migrate it: they take turns, and none fails on a locked database."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MIGRATE = """
import sys
from backtrack_shared.db import create_database_engine, upgrade_to_head
from planner.bootstrap import MIGRATIONS
upgrade_to_head(create_database_engine(sys.argv[1]), MIGRATIONS)
"""


def test_planners_migrating_one_fresh_sqlite_file_together_all_succeed(tmp_path: Path):
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'planner-{attempt}.db'}"
        started = [
            subprocess.Popen(
                [sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        failures = [p.communicate()[1] for p in started if p.wait() != 0]
        assert not failures, failures[0][-600:]
