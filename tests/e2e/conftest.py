"""Both services as real processes, on a PostgreSQL database and a broker namespace of their own."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from backtrack_shared.broker.topology import Topology
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_ready
from tests.support.resources import delete_topology, own_database


@dataclass
class System:
    traininglog: Service
    planner: Service
    topology: Topology
    database_url: str
    amqp_url: str
    environ: dict[str, str]
    log_dir: Path
    # The operator's key: every request of the tests goes through this session unless it is
    # about who may do what (test_security.py).
    http: requests.Session

    def stop_planner(self) -> None:
        stop(self.planner)

    def start_planner(self, *, forget_everything: bool = False) -> None:
        """Start the stopped planner again; with `forget_everything`, on an empty database."""
        if forget_everything:
            drop_planner_tables(self.database_url)
        self.planner = start("planner", self.environ, self.planner_port, self.log_dir)
        wait_ready(self.planner, timeout_s=120)  # it catches up with the feed before it is ready

    @property
    def planner_port(self) -> int:
        return int(self.planner.url.rsplit(":", 1)[1])


def drop_planner_tables(database_url: str) -> None:
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND (tablename LIKE 'planner%' OR tablename = 'alembic_version_planner')"
        ).fetchall()
        for (table,) in tables:
            connection.execute(f'DROP TABLE "{table}" CASCADE')


@pytest.fixture(scope="module")
def e2e_database(postgres_url: str) -> Iterator[str]:
    """A database of this module's own, dropped afterwards: no other test's rows in the feed."""
    with own_database(postgres_url, "e2e") as url:
        yield url


@pytest.fixture(scope="module")
def system(
    e2e_database: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    topology = Topology(namespace=f"e2e-{uuid.uuid4().hex[:10]}")
    log_dir = tmp_path_factory.mktemp("logs")
    secrets = tmp_path_factory.mktemp("secrets")
    clients_file = KEYS.write(secrets / "clients.json")
    traininglog_port, planner_port = free_port(), free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": e2e_database,
        "TRAININGLOG_KEYS_DATABASE_URL": f"sqlite:///{secrets / 'traininglog-keys.db'}",
        "AMQP_URL": amqp_url,
        "BROKER_NAMESPACE": topology.namespace,
        "PLANNER_PARTITIONS": str(topology.partitions),
        "TRAININGLOG_PORT": str(traininglog_port),
        "PLANNER_PORT": str(planner_port),
        "PLANNER_TRAININGLOG_URL": f"http://127.0.0.1:{traininglog_port}",
        "LOG_LEVEL": "INFO",
        "PLANNER_CATCH_UP_INTERVAL_S": "1",
        "CLIENTS_FILE": str(clients_file),
        "PLANNER_TRAININGLOG_API_KEY": KEYS.key["planner"],
        # Page links signed alike by every planner, and no secret file in the repository's data/.
        "PLANNER_PAGE_LINK_SECRET": "e2e-page-link-secret-" + "x" * 32,
        # Bursts of thousands of events: the rate limit has a test of its own.
        "TRAININGLOG_RATE_LIMIT_EVENTS_PER_S": "1000000",
        "TRAININGLOG_RATE_LIMIT_BURST": "1000000",
    }
    traininglog = start("traininglog", environ, traininglog_port, log_dir)
    wait_ready(traininglog)  # it migrates first; the planner then migrates its own tables
    planner = start("planner", environ, planner_port, log_dir)
    try:
        wait_ready(planner)
        http = requests.Session()
        http.headers.update(KEYS.header("ops"))
        system = System(
            traininglog, planner, topology, e2e_database, amqp_url, environ, log_dir, http
        )
        yield system
    finally:
        stop(system.planner if "system" in locals() else planner)
        stop(traininglog)
        delete_topology(amqp_url, topology)
