"""Fault c: traininglog killed after its relay published a batch and before it marked the batch
sent. On restart the relay publishes the batch again: the planner must take the copies as
duplicates and change nothing.

To kill it at exactly that moment, the test holds a row lock on the outbox rows: the relay
publishes them (confirmed by the broker) and then blocks on deleting them, and is killed there.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.faults.checks import (
    PlannerLedger,
    assert_nothing_lost_nothing_twice,
    count_rows,
    post_all,
    wait_settled,
)
from tests.faults.conftest import FaultSystem
from tests.faults.workload import workload
from tests.support.processes import free_port
from traininglog.adapters.tables import event_outbox

pytestmark = pytest.mark.faults

EVENTS, USERS = 3000, 100


@contextmanager
def outbox_rows_locked(database_url: str) -> Iterator[psycopg.Connection]:
    """Lock every outbox row now pending, FOR UPDATE, until the block ends: whoever deletes one
    (the relay marking it sent) waits."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        connection.execute("SELECT position FROM event_outbox FOR UPDATE")
        try:
            yield connection
        finally:
            connection.rollback()


def relay_waiting_on(connection: psycopg.Connection, timeout_s: float = 120) -> list[int]:
    """The backends blocked by `connection`'s locks: the relay marking its batch sent."""
    watcher = psycopg.connect(connection.info.dsn, autocommit=True)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            rows = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                (connection.info.backend_pid,),
            ).fetchall()
            if rows:
                return [pid for (pid,) in rows]
            time.sleep(0.1)
    finally:
        watcher.close()
    raise AssertionError("the relay never tried to mark its batch sent")


def test_a_relay_killed_between_publishing_and_marking_sent_is_harmless(
    fault_system: FaultSystem,
):
    system = fault_system
    # First without a broker it can reach: every event stays in the outbox.
    system.start(
        "traininglog", ready="/healthz", TRAININGLOG_AMQP_URL=f"amqp://127.0.0.1:{free_port()}/%2F"
    )
    system.start("planner")
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    started = time.monotonic()
    posted = post_all(system, documents)
    system.kill("traininglog")
    pending = count_rows(system, event_outbox)
    assert pending == EVENTS

    # Then with the broker, one relay batch for the whole outbox, and the outbox rows locked:
    # the relay publishes all of them, every one confirmed, and blocks on marking them sent.
    with outbox_rows_locked(system.database_url) as lock:
        system.start("traininglog", TRAININGLOG_RELAY_BATCH_SIZE=str(EVENTS + 1000))
        blocked = relay_waiting_on(lock)
        system.kill("traininglog")
        with psycopg.connect(lock.info.dsn, autocommit=True) as admin:
            for pid in blocked:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    published_unmarked = count_rows(system, event_outbox)
    assert published_unmarked == EVENTS  # published, confirmed, and still pending

    system.start("traininglog")  # publishes the whole outbox again
    settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    # Every event reached the planner at least twice; all but one copy were duplicates.
    assert figures.duplicates >= published_unmarked
    print(
        f"fault c: posted {len(documents)}, accepted {len(posted.accepted)}, "
        f"published but not marked sent when killed: {published_unmarked}, {figures}, "
        f"{time.monotonic() - started:.1f}s in all (settled {settled.seconds:.1f}s after the restart), {settled}"
    )
