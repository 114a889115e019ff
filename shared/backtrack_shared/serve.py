"""Running a service process: the WSGI server in the main thread, background workers beside it,
and a clean stop of everything on SIGTERM or Ctrl-C."""

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import structlog
import waitress
from flask import Flask

from backtrack_shared.gc_tuning import settle_after_startup

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Worker:
    name: str
    run: Callable[[], None]
    stop: Callable[[], None]


class PeriodicWorker:
    """Runs `task` now and then every `interval_s` until stopped; a failure is logged, not fatal."""

    def __init__(self, name: str, task: Callable[[], object], interval_s: float) -> None:
        self.name = name
        self._task = task
        self._interval_s = interval_s
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._task()
            except Exception:
                log.exception("worker.failed", worker=self.name)
            self._stopping.wait(self._interval_s)

    def stop(self) -> None:
        self._stopping.set()

    def worker(self) -> Worker:
        return Worker(self.name, self.run, self.stop)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # One stop is enough: a second signal must not interrupt the clean-up of the first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def serve(app: Flask, *, host: str, port: int, threads: int, workers: Sequence[Worker]) -> None:
    settle_after_startup()
    started = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in workers]
    for thread in started:
        thread.start()
    server = waitress.create_server(app, host=host, port=port, threads=threads)
    # Set both explicitly: a process started in the background of a script inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    log.info(
        "service.started", service=app.name, host=host, port=port, workers=[w.name for w in workers]
    )
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        log.info("service.stopping", service=app.name)
    finally:
        server.close()
        for worker in workers:
            worker.stop()
        for thread in started:
            thread.join(timeout=10)
