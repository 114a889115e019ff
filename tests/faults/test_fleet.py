"""The faults of a fleet (issue 13): several planners sharing the partitions, one of them
killed or cut from the broker, and traininglog killed in the middle of a group commit, the planners' database crashed, a full
disk under SQLite. Each
ends with the checks every fault test ends with (tests/faults/checks.py)."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from planner.adapters.tables import planner_events
from tests.faults.checks import (
    PlannerLedger,
    Posted,
    assert_nothing_lost_nothing_twice,
    count_rows,
    post_all,
    wait_settled,
)
from tests.faults.conftest import FaultSystem
from tests.faults.workload import workload
from tests.support.private_postgres import private_postgres
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.faults

EVENTS, USERS = 3000, 100
CUT_S = 20
# A dead planner's partitions go to the survivors once its claims' lease ran out.
FLEET = {"PLANNER_PARTITION_LEASE_S": "3"}


def wait_rows(system: FaultSystem, users: list[str], at_least: int, timeout_s: float = 300) -> int:
    deadline = time.monotonic() + timeout_s
    while (rows := count_rows(system, planner_events, users)) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} applied\n{system.logs()}"
        time.sleep(0.2)
    return rows


@contextlib.contextmanager
def posting_meanwhile(system: FaultSystem, documents: list[dict], posted: Posted) -> Iterator[None]:
    """Post `documents` from a thread while the block runs (the load the fault meets)."""
    errors: list[BaseException] = []

    def post() -> None:
        try:
            post_all(system, documents, posted=posted, threads=2)
        except BaseException as err:  # re-raised in the test's thread
            errors.append(err)

    poster = threading.Thread(target=post, name="fault-load")
    poster.start()
    try:
        yield
    finally:
        poster.join(timeout=600)
        assert not errors, errors
        assert not poster.is_alive(), "the load never finished"


def test_one_of_three_planners_killed_twice_under_load_loses_and_repeats_nothing(
    fault_system: FaultSystem,
):
    system = fault_system
    system.start("traininglog")
    for name in ("planner", "planner-2", "planner-3"):
        system.start(name, **FLEET)
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    posted = Posted()
    killed_at = []
    with posting_meanwhile(system, documents, posted):
        for applied in (300, 1200):
            killed_at.append(wait_rows(system, users, applied))
            system.kill("planner-2")  # with deliveries in hand, unacknowledged
            ledger.fleet_member_killed()
            system.start("planner-2", ready="/healthz", **FLEET)

    settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    print(
        f"fleet fault a: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"planner-2 killed at {killed_at} applied, settled in {settled.seconds:.1f}s, {settled}"
    )


def test_a_planner_cut_from_the_broker_for_20_s_under_load_loses_and_repeats_nothing(
    fault_system: FaultSystem,
):
    system = fault_system
    broker = make_url(system.amqp_url.replace("amqp://", "postgresql://", 1))
    proxy = TcpProxy(broker.host or "127.0.0.1", broker.port or 5672)
    through_proxy = system.amqp_url.replace(
        f"@{broker.host}:{broker.port or 5672}", f"@127.0.0.1:{proxy.port}", 1
    )
    assert through_proxy != system.amqp_url
    try:
        system.start("traininglog")
        system.start("planner", **FLEET)
        system.start("planner-2", PLANNER_AMQP_URL=through_proxy, **FLEET)
        assert proxy.connections > 0, "planner-2 does not reach the broker through the proxy"
        users, documents = workload(USERS, EVENTS)
        ledger = PlannerLedger.taken(system, users)
        posted = Posted()
        with posting_meanwhile(system, documents, posted):
            before_cut = wait_rows(system, users, 300)
            proxy.cut()  # neither the planner nor the broker is stopped
            time.sleep(CUT_S)
            during_cut = count_rows(system, planner_events, users) - before_cut
            proxy.heal()
        assert system.services["planner-2"].process.poll() is None, "planner-2 died of the cut"
        settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
        figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
        print(
            f"fleet fault b: posted {len(documents)}, accepted {len(posted.accepted)}, "
            f"{figures}, {during_cut} applied during the {CUT_S} s cut, proxy connections "
            f"{proxy.connections}, settled in {settled.seconds:.1f}s, {settled}"
        )
    finally:
        proxy.close()


@contextlib.contextmanager
def inserts_blocked(database_url: str) -> Iterator[psycopg.Connection]:
    """Hold a lock on the events table that lets reads through and makes every INSERT wait:
    a group commit under way waits inside its transaction until the block ends."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")
        yield connection
        connection.rollback()


def waiting_inserts(database_url: str) -> int:
    """traininglog's transactions waiting on that lock with an INSERT into events (on
    PostgreSQL its append is one statement, the insert into the events inside a WITH)."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%%INSERT INTO events%%'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_traininglog_killed_in_a_group_commit_stores_every_accepted_event_and_nothing_else(
    fault_system: FaultSystem,
):
    system = fault_system
    system.start("traininglog")
    system.start("planner")
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    first, second = documents[:1000], documents[1000:]
    posted = post_all(system, first)
    stored_before = count_rows(system, planner_events, users)
    with posting_meanwhile(system, second, posted):
        with inserts_blocked(system.database_url):
            deadline = time.monotonic() + 60
            while waiting_inserts(system.database_url) == 0:
                assert time.monotonic() < deadline, f"no group commit waits\n{system.logs()}"
                time.sleep(0.1)
            in_flight = waiting_inserts(system.database_url)
            system.kill("traininglog")  # its transactions roll back; their clients get no answer
        system.start("traininglog")  # the clients retry what was never answered
    settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    print(
        f"fleet fault c: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"{in_flight} group commits in flight when killed ({stored_before} applied before), "
        f"statuses {dict(posted.statuses)}, settled in {settled.seconds:.1f}s"
    )


def test_the_planners_database_crashed_under_load_loses_and_repeats_nothing(
    fault_system: FaultSystem,
):
    """The planners' database is a PostgreSQL cluster of the test's own (never the machine's
    shared one): stopped at once, as a crash, while two planners apply, and started again."""
    system = fault_system
    with private_postgres() as cluster:
        system.planner_database_url = cluster.url
        system.start("traininglog")
        for name in ("planner", "planner-2"):
            system.start(name, PLANNER_DATABASE_URL=cluster.url, **FLEET)
        users, documents = workload(USERS, EVENTS)
        ledger = PlannerLedger.taken(system, users)
        posted = Posted()
        with posting_meanwhile(system, documents, posted):
            crashed_at = wait_rows(system, users, 300)
            cluster.crash()
            time.sleep(5)
            cluster.start()
        settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
        figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
        for name in ("planner", "planner-2"):
            system.stop(name)
    print(
        f"fleet fault d: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"planner database crashed at {crashed_at} applied, settled in {settled.seconds:.1f}s"
    )


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (root only), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave_bytes: int) -> Path:
    """A file that takes all but `leave_bytes` of the folder's file system."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free - leave_bytes
    with filler.open("wb") as out:
        while free > 0:
            chunk = min(free, 1 << 20)
            out.write(b"\0" * chunk)
            free -= chunk
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_disk_under_sqlite_answers_503_and_corrupts_nothing(
    fault_system: FaultSystem, tmp_path: Path
):
    """traininglog on SQLite in a small tmpfs that fills up under load: the writes that do
    not fit are answered 503 (and retried by the clients), the store stays whole, and once
    room is made again every accepted event is stored once and applied once."""
    system = fault_system
    with small_disk(tmp_path / "disk") as disk:
        sqlite_url = f"sqlite:///{disk / 'traininglog.db'}"
        system.planner_database_url = system.database_url  # the planner stays on PostgreSQL
        system.database_url = sqlite_url
        system.start(
            "traininglog",
            TRAININGLOG_DATABASE_URL=sqlite_url,
            TRAININGLOG_KEYS_DATABASE_URL=f"sqlite:///{tmp_path / 'keys.db'}",
        )
        system.start("planner", PLANNER_DATABASE_URL=system.planner_database_url)
        users, documents = workload(USERS, EVENTS)
        ledger = PlannerLedger.taken(system, users)
        posted = post_all(system, documents[:500])
        filler = fill(disk, leave_bytes=256 * 1024)
        with posting_meanwhile(system, documents[500:], posted):
            deadline = time.monotonic() + 120
            while posted.statuses[503] == 0:
                assert time.monotonic() < deadline, f"never full: {dict(posted.statuses)}"
                time.sleep(0.2)
            full_answers = posted.statuses[503]
            filler.unlink()  # room again: the clients' retries go through
        settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
        figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
        system.stop("traininglog")
        with sqlite3.connect(disk / "traininglog.db") as store:
            assert store.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        system.stop("planner")
    reasons = {str(body.get("detail", body))[:80] for body, _ in posted.unavailable_answers}
    print(
        f"fleet fault e: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"{full_answers} answered 503 while full ({reasons}), settled in {settled.seconds:.1f}s"
    )
