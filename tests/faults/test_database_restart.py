"""Fault d: PostgreSQL restarted while events are posted and applied. Clients get a 503 with
Retry-After (never a 500, never half a batch), and the planner neither loses nor dead-letters an
event because its database was briefly gone."""

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.faults.checks import (
    PlannerLedger,
    Posted,
    assert_nothing_lost_nothing_twice,
    post_all,
    wait_settled,
)
from tests.faults.conftest import FaultSystem, run
from tests.faults.workload import workload

CLUSTERS = Path("/etc/postgresql")

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        shutil.which("pg_ctlcluster") is None or not CLUSTERS.is_dir(),
        reason="needs a local PostgreSQL cluster managed by pg_ctlcluster",
    ),
]

EVENTS, USERS = 3000, 100


def pg_ctlcluster(action: str) -> None:
    (version,) = [path.name for path in CLUSTERS.iterdir()]
    run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action)


def database_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


def test_a_database_restart_under_load_answers_503_and_loses_nothing(fault_system: FaultSystem):
    system = fault_system
    system.start("traininglog")
    system.start("planner")
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    posted = Posted()
    restarted = threading.Event()

    def restart_when_busy() -> None:
        try:
            while len(posted.accepted) < EVENTS // 3:
                time.sleep(0.05)
            pg_ctlcluster("restart")
        finally:
            restarted.set()

    started = time.monotonic()
    controller = threading.Thread(target=restart_when_busy, daemon=True)
    controller.start()
    try:
        post_all(system, documents, batch_size=50, posted=posted)
        restarted.wait(timeout=120)
    finally:
        restarted.wait(timeout=120)
        if not database_up():
            pg_ctlcluster("start")
    posting_s = time.monotonic() - started

    assert set(posted.statuses) <= {200, 503}, posted.statuses
    assert posted.statuses[503] > 0, "no request met the restart: the test proved nothing"
    for body, retry_after in posted.unavailable_answers:
        assert body["code"] == 503 and body["message"], body
        assert retry_after is not None and int(retry_after) > 0
    for counts in posted.retried_batches:  # all or nothing: never half a batch stored
        assert counts["stored"] in (0, sum(counts.values())), counts

    settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    held = system.planner.log_path.read_text(errors="replace")
    print(
        f"fault d: posted {len(documents)}, accepted {len(posted.accepted)}, "
        f"answers {dict(posted.statuses)}, {figures}, "
        f"consumer held messages through the outage: "
        f"{'consumer.handler_transient_failure' in held}, "
        f"posting {posting_s:.1f}s, settled {settled.seconds:.1f}s later, {settled}"
    )
