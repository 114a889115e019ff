"""Services as processes of their own on loopback, for the tests and the benchmarks: a free
port, a start with its output in a log file, a wait until the service answers ready, a stop."""

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def start(
    name: str,
    environ: dict[str, str],
    port: int,
    log_dir: Path,
    *,
    argv: Sequence[str] | None = None,
) -> Service:
    """Run `python -m NAME serve` (or `python ARGV...`) with exactly `environ`, from the
    repository's root, its output appended to LOG_DIR/NAME.log."""
    log_path = log_dir / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, *(argv if argv is not None else ["-m", name, "serve"])],
        env=environ,
        cwd=ROOT,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return Service(name, f"http://127.0.0.1:{port}", process, log_path)


def wait_ready(service: Service, timeout_s: float = 30, *, path: str = "/readyz") -> None:
    """Until `path` answers 200; raise with the service's log if it exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.logs()}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{service.url}{path}", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} not ready ({path}) in {timeout_s}s:\n{service.logs()}")


def wait_healthy(service: Service, timeout_s: float = 30) -> None:
    """Until the process answers at all (/healthz), ready or not."""
    wait_ready(service, timeout_s, path="/healthz")


def stop(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@contextlib.contextmanager
def running(
    name: str,
    environ: dict[str, str],
    port: int,
    log_dir: Path,
    *,
    argv: Sequence[str] | None = None,
    ready_path: str = "/readyz",
    timeout_s: float = 60,
) -> Iterator[Service]:
    """A started service, ready, stopped afterwards."""
    service = start(name, environ, port, log_dir, argv=argv)
    try:
        wait_ready(service, timeout_s, path=ready_path)
        yield service
    finally:
        stop(service)
