"""Partition claims in the planner's database: each instance says it is alive and which
partition queues it consumes. Every change is one conditional statement, so that two instances
racing for a partition cannot both win it, on SQLite and PostgreSQL alike."""

import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from backtrack_shared.db import WRITE
from planner.adapters.tables import planner_instances, planner_partition_claims

claims = planner_partition_claims


class SqlAlchemyPartitionClaims:
    def __init__(
        self,
        engine: Engine,
        instance: str,
        *,
        lease_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.instance = instance
        self._lease_s = lease_s
        self._clock = clock

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(**WRITE) as connection, connection.begin():
            yield connection

    def heartbeat(self, partitions: int) -> None:
        """Say this instance is alive; make sure every partition has a claim row."""
        now = self._clock()
        with self._transaction() as connection:
            seen = connection.execute(
                update(planner_instances)
                .where(planner_instances.c.instance == self.instance)
                .values(seen_at=now)
            )
            if not seen.rowcount:
                connection.execute(
                    insert(planner_instances).values(instance=self.instance, seen_at=now)
                )
            rows = set(connection.execute(select(claims.c.partition)).scalars())
        for partition in set(range(partitions)) - rows:
            try:
                with self._transaction() as connection:
                    connection.execute(
                        insert(claims).values(partition=partition, instance=None, renewed_at=0)
                    )
            except IntegrityError:
                pass  # another instance made it meanwhile

    def live(self) -> list[str]:
        """The instances seen within a lease, this one included."""
        since = self._clock() - self._lease_s
        with self._engine.connect() as connection:
            names = connection.execute(
                select(planner_instances.c.instance).where(planner_instances.c.seen_at >= since)
            ).scalars()
            return sorted({*names, self.instance})

    def renew(self) -> set[int]:
        """Renew this instance's claims; return the partitions it still holds (one whose claim
        lapsed and was taken by another is not among them)."""
        now = self._clock()
        with self._transaction() as connection:
            connection.execute(
                update(claims).where(claims.c.instance == self.instance).values(renewed_at=now)
            )
            held = connection.execute(
                select(claims.c.partition).where(claims.c.instance == self.instance)
            ).scalars()
            return set(held)

    def free(self) -> set[int]:
        """Partitions nobody holds: released, never claimed, or whose claim lapsed."""
        lapsed = self._clock() - self._lease_s
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(claims.c.partition).where(
                    or_(claims.c.instance.is_(None), claims.c.renewed_at < lapsed)
                )
            ).scalars()
            return set(rows)

    def take(self, partition: int) -> bool:
        """Claim a free partition; False if another instance holds it (or won the race)."""
        now = self._clock()
        with self._transaction() as connection:
            taken = connection.execute(
                update(claims)
                .where(
                    claims.c.partition == partition,
                    or_(claims.c.instance.is_(None), claims.c.renewed_at < now - self._lease_s),
                )
                .values(instance=self.instance, renewed_at=now)
            )
            return bool(taken.rowcount)

    def release(self, partitions: Collection[int]) -> None:
        with self._transaction() as connection:
            connection.execute(
                update(claims)
                .where(claims.c.partition.in_(partitions), claims.c.instance == self.instance)
                .values(instance=None)
            )

    def leave(self) -> None:
        """A clean stop: release everything at once so the others need not wait for a lease."""
        with self._transaction() as connection:
            connection.execute(
                update(claims).where(claims.c.instance == self.instance).values(instance=None)
            )
            connection.execute(
                delete(planner_instances).where(planner_instances.c.instance == self.instance)
            )
