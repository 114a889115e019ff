"""A rebuild of every projection running in the background of the planner process. It holds the
projections' single writer turn throughout, and pauses the consumer so that the messages which
arrive meanwhile wait in the queue instead of in a blocked handler."""

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from planner.service_layer.catch_up import Feed, UnitOfWorkFactory, rebuild
from planner.service_layer.folds import RoutineFolds
from planner.service_layer.single_writer import SingleWriter

log = structlog.get_logger(__name__)


class Pausable(Protocol):
    def pause(self) -> None: ...

    def resume(self) -> None: ...


@dataclass
class RebuildJob:
    unit_of_work: UnitOfWorkFactory
    feed: Feed
    consumer: Pausable
    writer: SingleWriter
    folds: RoutineFolds | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _status: dict[str, Any] = field(default_factory=lambda: {"state": "idle"})

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def start(self) -> bool:
        """Start a rebuild unless one runs already; return whether this call started it."""
        with self._lock:
            if self._status["state"] == "running":
                return False
            self._status = {
                "state": "running",
                "events_read": 0,
                "position": 0,
                "head": self.feed.head(),
            }
        threading.Thread(target=self._run, name="rebuild", daemon=True).start()
        return True

    def _progress(self, read: int, position: int) -> None:
        with self._lock:
            self._status["events_read"] += read
            self._status["position"] = position

    def _skipped(self, user_id: str, error: str) -> None:
        with self._lock:
            self._status.setdefault("skipped_users", []).append(
                {"user_id": user_id, "error": error}
            )

    def _folded(self, events: int) -> None:
        with self._lock:
            self._status["events_folded"] = self._status.get("events_folded", 0) + events

    def _run(self) -> None:
        self.consumer.pause()
        try:
            with self.writer.turn():
                self._rebuild()
        finally:
            self.consumer.resume()

    def _rebuild(self) -> None:
        try:
            rebuild(
                self.unit_of_work,
                self.feed,
                on_page=self._progress,
                on_user=self._folded,
                on_skipped=self._skipped,
            )
            if self.folds is not None:
                self.folds.forget()  # what they kept describes the database before the rebuild
            with self._lock:
                self._status["state"] = "done"
        except Exception as err:
            log.exception("rebuild.failed")
            with self._lock:
                self._status.update(state="failed", error=str(err))
