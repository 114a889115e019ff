"""Fault tests: both services as real processes on a PostgreSQL database and a broker namespace
of each test's own, on loopback, while something breaks (the broker, a process, the database).

They stop and start RabbitMQ and PostgreSQL on this machine, so they run only when asked:
`make faults` (`pytest -m faults tests/faults`). Each undoes its fault in a `finally`.

The services read the test keys (tests/keys.py) from a clients file of the test's own; the
planner reads the feed with its own key, and the write rate limit is set far above the load.
"""

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backtrack_shared.broker.topology import Topology
from tests.keys import KEYS
from tests.support.processes import Service, free_port, start, stop, wait_healthy, wait_ready
from tests.support.resources import delete_topology, own_database


@dataclass
class FaultSystem:
    """traininglog and planner as processes; each may be stopped, killed and started again."""

    database_url: str
    amqp_url: str
    topology: Topology
    log_dir: Path
    environ: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    # The planner's own database when a test gives it one (PLANNER_DATABASE_URL), else both
    # services' tables are in `database_url`.
    planner_database_url: str = ""

    def database_of(self, table_name: str) -> str:
        if table_name.startswith("planner") and self.planner_database_url:
            return self.planner_database_url
        return self.database_url

    @property
    def traininglog(self) -> Service:
        return self.services["traininglog"]

    @property
    def planner(self) -> Service:
        return self.services["planner"]

    @property
    def planners(self) -> list[Service]:
        """Every planner process started ("planner", "planner-2"...), running or not."""
        return [s for name, s in self.services.items() if name.split("-")[0] == "planner"]

    def start(
        self, name: str, *, ready: str = "/readyz", timeout_s: float = 120, **env: str
    ) -> None:
        """Start `name` (again), with `env` on top of the system's environment. A name with a
        suffix is another process of the service: "planner-2" is a second planner."""
        service_name = name.split("-")[0]
        port = self.ports.setdefault(name, free_port())
        environ = {
            **self.environ,
            f"{service_name.upper()}_PORT": str(port),
            **{key: str(value) for key, value in env.items()},
        }
        service = start(name, environ, port, self.log_dir, argv=["-m", service_name, "serve"])
        self.services[name] = service
        if ready == "/readyz":
            wait_ready(service, timeout_s=timeout_s)
        else:
            wait_healthy(service, timeout_s=timeout_s)

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or an OOM kill."""
        process = self.services[name].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, name: str) -> None:
        stop(self.services[name])

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{s.logs()}" for name, s in self.services.items())


@pytest.fixture
def fault_database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    with own_database(postgres_url, "faults") as url:
        yield url


@pytest.fixture
def fault_system(fault_database: str, amqp_url: str, tmp_path: Path) -> Iterator[FaultSystem]:
    """Both services, not started yet: the test starts them with the settings it needs."""
    topology = Topology(namespace=f"faults-{uuid.uuid4().hex[:10]}")
    ports = {"traininglog": free_port(), "planner": free_port()}
    clients_file = KEYS.write(tmp_path / "secrets" / "clients.json")
    environ = {
        **os.environ,
        "DATABASE_URL": fault_database,
        "TRAININGLOG_KEYS_DATABASE_URL": f"sqlite:///{tmp_path / 'secrets' / 'keys.db'}",
        "AMQP_URL": amqp_url,
        "BROKER_NAMESPACE": topology.namespace,
        "PLANNER_PARTITIONS": str(topology.partitions),
        "TRAININGLOG_PORT": str(ports["traininglog"]),
        "PLANNER_PORT": str(ports["planner"]),
        "PLANNER_TRAININGLOG_URL": f"http://127.0.0.1:{ports['traininglog']}",
        "LOG_LEVEL": "INFO",
        "PLANNER_CATCH_UP_INTERVAL_S": "10",
        "PYTHONUNBUFFERED": "1",
        "CLIENTS_FILE": str(clients_file),
        "PLANNER_TRAININGLOG_API_KEY": KEYS.key["planner"],
        # Thousands of events in bursts from one client: the rate limit has a test of its own.
        "TRAININGLOG_RATE_LIMIT_EVENTS_PER_S": "1000000",
        "TRAININGLOG_RATE_LIMIT_BURST": "1000000",
    }
    system = FaultSystem(fault_database, amqp_url, topology, tmp_path, environ, ports=ports)
    try:
        yield system
    finally:
        for service in system.services.values():
            if service.process.poll() is None:
                stop(service)
        with contextlib.suppress(Exception):
            delete_topology(amqp_url, topology)


def run(*argv: str, timeout_s: float = 120) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=timeout_s)
