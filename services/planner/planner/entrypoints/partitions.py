"""Consuming the partition queues this instance holds, and holding its share of them.

The broker keeps each partition's order (single active consumer) and its delivery limits and
dead letters; the instances share the partitions through claims in their database
(planner.service_layer.partition_share): every `lease_s / 3` an instance renews its claims and
its liveness, releases what it holds beyond its share (its consumer finishes the messages in
hand first) and takes free partitions up to it; a thread of its own renews the claims and the
liveness meanwhile, as a turn may wait on consumers. A killed instance stops renewing: once its
claims lapse the survivors take them. A stopped instance releases its claims at once.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from backtrack_shared.broker.connection import CONNECTION_ERRORS
from backtrack_shared.broker.consumer import PikaConsumer
from backtrack_shared.broker.topology import Topology
from planner.adapters.partition_claims import SqlAlchemyPartitionClaims
from planner.service_layer.partition_share import moves

log = structlog.get_logger(__name__)


@dataclass
class _Running:
    consumer: PikaConsumer
    thread: threading.Thread


class AllConnected:
    """Readiness: every partition this instance holds has its consumer connected (true, too,
    for an instance holding none once it has looked: it stands by)."""

    def __init__(self, owner: "PartitionedConsumer") -> None:
        self._owner = owner

    def is_set(self) -> bool:
        return self._owner.looked.is_set() and all(
            running.consumer.connected.is_set() for running in self._owner.running()
        )


class PartitionedConsumer:
    def __init__(
        self,
        topology: Topology,
        claims: SqlAlchemyPartitionClaims,
        consumer_for: Callable[[str], PikaConsumer],
        *,
        lease_s: float,
        before_each_turn: Callable[[], object] = lambda: None,
    ) -> None:
        self._topology = topology
        self._claims = claims
        self._consumer_for = consumer_for
        self._interval_s = lease_s / 3
        self._before_each_turn = before_each_turn
        self._running: dict[int, _Running] = {}
        self._lock = threading.Lock()  # _running, between run() and pause()/resume()/stop()
        self._stopping = threading.Event()
        self._paused = False
        self.looked = threading.Event()
        self.connected = AllConnected(self)

    def running(self) -> list[_Running]:
        with self._lock:
            return list(self._running.values())

    def held(self) -> set[int]:
        with self._lock:
            return set(self._running)

    def run(self) -> None:
        threading.Thread(target=self._keep_claims, name="partition-claims", daemon=True).start()
        while not self._stopping.is_set():
            try:
                self._before_each_turn()
                self._balance()
                self.looked.set()
            except (SQLAlchemyError, *CONNECTION_ERRORS) as err:
                # Without the database no claim moves: the consumers keep what they hold.
                log.warning("partitions.balance_failed", error=str(err)[:500])
            self._stopping.wait(self._interval_s)
        for partition in sorted(self.held()):
            self._stop_consuming(partition)
        try:
            self._claims.leave()
        except SQLAlchemyError as err:
            log.warning("partitions.leave_failed", error=str(err)[:500])

    def _keep_claims(self) -> None:
        """Renew this instance's liveness and claims on their own clock: a turn of `_balance`
        waits for each consumer it stops to settle its messages in hand, which may take longer
        than a lease, and claims lapsing meanwhile would hand partitions to another instance
        that hands them back, over and over."""
        while not self._stopping.wait(self._interval_s):
            try:
                self._claims.heartbeat(self._topology.partitions)
                self._claims.renew()
            except (SQLAlchemyError, *CONNECTION_ERRORS) as err:
                log.warning("partitions.renew_failed", error=str(err)[:500])

    def _balance(self) -> None:
        partitions = self._topology.partitions
        self._claims.heartbeat(partitions)
        held = self._claims.renew()
        for partition in self.held() - held:  # its claim lapsed and another took it
            log.warning("partitions.lost", partition=partition)
            self._stop_consuming(partition)
        next_moves = moves(
            partitions, self._claims.live(), self._claims.instance, held, self._claims.free()
        )
        for partition in next_moves.release:
            self._stop_consuming(partition)  # its messages in hand are settled first
            self._claims.release([partition])
            log.info("partitions.released", partition=partition)
        for partition in next_moves.take:
            if self._stopping.is_set():
                return
            if self._claims.take(partition):
                self._start_consuming(partition)
                log.info("partitions.taken", partition=partition)
        for partition in held - self.held():  # held, not consumed (a restart within its lease)
            if partition not in next_moves.release:
                self._start_consuming(partition)

    def _start_consuming(self, partition: int) -> None:
        consumer = self._consumer_for(self._topology.partition_queue(partition))
        thread = threading.Thread(target=consumer.run, name=f"partition-{partition}", daemon=True)
        with self._lock:
            if self._paused:
                consumer.pause()
            self._running[partition] = _Running(consumer, thread)
        thread.start()

    def _stop_consuming(self, partition: int) -> None:
        with self._lock:
            running = self._running.pop(partition, None)
        if running is not None:
            running.consumer.stop()
            running.thread.join()

    def pause(self) -> None:
        """Thread-safe: every partition's consumer pauses (a full rebuild); claims are kept."""
        with self._lock:
            self._paused = True
            for running in self._running.values():
                running.consumer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            for running in self._running.values():
                running.consumer.resume()

    def stop(self) -> None:
        self._stopping.set()
