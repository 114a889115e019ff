"""Group commit: concurrent requests share one append transaction.

Every append holds the store's one append lock until it commits (readers of the log must never
see a later position before an earlier one), so appends run one at a time, and one event per
transaction spends most of its time on the commit. Here each request thread hands its envelopes
to one appender thread and waits; the appender takes whatever requests are waiting, up to
`max_events` events, records them in one transaction, and answers each with its own receipts,
or with the same error. Nothing is answered before it is committed. A lone request waits for
no one: it is taken at once.

The appender's connections are not tried before use (no pre-ping round trip per transaction):
a group that meets a connection the database dropped (it restarted) is recorded once more on a
new one. Recording again is safe even if the first commit went through: what it stored is then
found and answered as duplicates.
"""

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from backtrack_shared.db import is_dropped_connection
from traininglog.domain.append import Writer
from traininglog.service_layer.ingest import Receipt, Request

log = structlog.get_logger(__name__)

RecordRequests = Callable[[Sequence[Request]], list[list[Receipt]]]


class Stopped(Exception):
    """The service is stopping: the request was not recorded; send it again."""


@dataclass
class _Pending:
    envelopes: Sequence[dict[str, Any]]
    writer: Writer
    done: threading.Event = field(default_factory=threading.Event)
    receipts: list[Receipt] | None = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, record_requests: RecordRequests, *, max_events: int = 500) -> None:
        self._record_requests = record_requests
        self._max_events = max_events
        self._waiting: queue.Queue[_Pending] = queue.Queue()
        self._stopping = threading.Event()
        self._finished = threading.Event()

    def record(self, envelopes: Sequence[dict[str, Any]], writer: Writer) -> list[Receipt]:
        """Record one request's envelopes (from a request thread); return its receipts once
        committed, or raise what the transaction raised."""
        if self._stopping.is_set():
            raise Stopped("traininglog is stopping")
        pending = _Pending(envelopes, writer)
        self._waiting.put(pending)
        while not pending.done.wait(1.0):
            if self._finished.is_set():  # put in after the appender's last look: never taken
                raise Stopped("traininglog is stopping")
        if pending.error is not None:
            raise pending.error
        assert pending.receipts is not None
        return pending.receipts

    def run(self) -> None:
        """The appender thread's loop, until stop()."""
        while not self._stopping.is_set():
            try:
                first = self._waiting.get(timeout=0.2)
            except queue.Empty:
                continue
            self._commit(self._gather(first))
        self._refuse_the_rest()
        self._finished.set()

    def stop(self) -> None:
        self._stopping.set()

    def _gather(self, first: _Pending) -> list[_Pending]:
        group, events = [first], len(first.envelopes)
        while events < self._max_events:
            try:
                pending = self._waiting.get_nowait()
            except queue.Empty:
                break
            group.append(pending)
            events += len(pending.envelopes)
        return group

    def _commit(self, group: list[_Pending]) -> None:
        requests = [(p.envelopes, p.writer) for p in group]
        try:
            try:
                answers = self._record_requests(requests)
            except Exception as err:
                if not is_dropped_connection(err):
                    raise
                log.warning("append.connection_dropped", error=str(err)[:300])
                answers = self._record_requests(requests)
        except Exception as err:  # each request answers it: 503 if the database is away
            for pending in group:
                pending.error = err
        else:
            for pending, receipts in zip(group, answers, strict=True):
                pending.receipts = receipts
        for pending in group:
            pending.done.set()

    def _refuse_the_rest(self) -> None:
        while True:
            try:
                pending = self._waiting.get_nowait()
            except queue.Empty:
                return
            pending.error = Stopped("traininglog is stopping")
            pending.done.set()
