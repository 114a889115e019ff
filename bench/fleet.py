"""The system as a fleet of processes for the soak and figures 9-10: traininglog processes
behind haproxy (deploy/haproxy/traininglog.cfg, as `make run-fleet` runs it) and planner
processes, on a PostgreSQL database and a broker namespace of their own, the write limit in
Redis. Built on bench/infra.py's processes."""

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from backtrack_shared.broker.topology import Topology
from bench import infra
from tests.support import processes

PROXY_CONFIG = infra.ROOT / "deploy" / "haproxy" / "traininglog.cfg"
REDIS_URL = os.environ.get("RATE_LIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Fleet:
    traininglogs: list[processes.Service]
    planners: list[processes.Service]
    proxy: subprocess.Popen[bytes]
    url: str  # where clients and planners reach traininglog
    database_url: str
    topology: Topology

    def pids(self) -> dict[str, int]:
        named = {f"tl{n + 1}": p.process.pid for n, p in enumerate(self.traininglogs)}
        named["haproxy"] = self.proxy.pid
        named |= {f"pl{n + 1}": p.process.pid for n, p in enumerate(self.planners)}
        return named


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not answering in {timeout_s}s")


@contextlib.contextmanager
def haproxy(addresses: list[str], log_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    if shutil.which("haproxy") is None:
        raise RuntimeError("haproxy is not installed: `make haproxy`")
    """haproxy in front of one or two traininglog addresses (the configuration names two: one
    process stands behind both names)."""
    if len(addresses) not in (1, 2):
        raise RuntimeError("deploy/haproxy/traininglog.cfg names two traininglog processes")
    port = processes.free_port()
    environ = {
        **os.environ,
        "TRAININGLOG_PROXY_BIND": f"127.0.0.1:{port}",
        "TRAININGLOG_1_ADDRESS": addresses[0],
        "TRAININGLOG_2_ADDRESS": addresses[-1],
    }
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(PROXY_CONFIG)],
        env=environ,
        stdout=(log_dir / "haproxy.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, process)
        yield process, url
    finally:
        process.terminate()
        process.wait(timeout=15)


# A service's start (imports, migration, connecting) on a loaded 2-core machine: minutes.
READY_TIMEOUT_S = 300


@contextlib.contextmanager
def _running(
    service: str, name: str, port: int, environ: dict[str, str], log_dir: Path
) -> Iterator[processes.Service]:
    process = infra.start(
        name, ["-m", service, "serve"], port=port, environ=environ, log_dir=log_dir
    )
    try:
        processes.wait_ready(process, timeout_s=READY_TIMEOUT_S)
        yield process
    finally:
        processes.stop(process)


@contextlib.contextmanager
def fleet(traininglogs: int, planners: int, log_dir: Path, label: str = "soak") -> Iterator[Fleet]:
    """The whole system, started in order (each traininglog migrates on start, then the
    planners), stopped in the reverse order."""
    with (
        infra.postgres_database(label) as database_url,
        infra.throwaway_topology(label) as topology,
        contextlib.ExitStack() as stack,
    ):
        environ = infra.service_environ(database_url, topology)
        environ["RATE_LIMIT_STORAGE_URL"] = REDIS_URL  # keyed by the namespace: the soak's own
        started: list[processes.Service] = []
        for n in range(traininglogs):
            port = processes.free_port()
            started.append(
                stack.enter_context(
                    _running(
                        "traininglog",
                        f"traininglog{n + 1}",
                        port,
                        {**environ, "TRAININGLOG_PORT": str(port)},
                        log_dir,
                    )
                )
            )
        proxy, url = stack.enter_context(
            haproxy([p.url.removeprefix("http://") for p in started], log_dir)
        )
        planner_environ = {**environ, "PLANNER_TRAININGLOG_URL": url}
        consumers: list[processes.Service] = []
        for n in range(planners):
            port = processes.free_port()
            consumers.append(
                stack.enter_context(
                    _running(
                        "planner",
                        f"planner{n + 1}",
                        port,
                        {**planner_environ, "PLANNER_PORT": str(port)},
                        log_dir,
                    )
                )
            )
        yield Fleet(started, consumers, proxy, url, database_url, topology)
