"""Fault b: the planner SIGKILLed twice while it applies a stream of events, and restarted."""

import time

import pytest

from planner.adapters.tables import planner_events
from tests.faults.checks import (
    PlannerLedger,
    assert_nothing_lost_nothing_twice,
    count_rows,
    duplicate_metric,
    post_all,
    wait_settled,
)
from tests.faults.conftest import FaultSystem
from tests.faults.workload import workload

pytestmark = pytest.mark.faults

EVENTS, USERS = 3000, 100


def wait_rows(system: FaultSystem, users: list[str], at_least: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while count_rows(system, planner_events, users) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} applied\n{system.logs()}"
        time.sleep(0.2)


def test_the_planner_killed_twice_mid_stream_applies_everything_once(fault_system: FaultSystem):
    system = fault_system
    system.start("traininglog")
    system.start("planner")
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    started = time.monotonic()
    first, second = documents[:2000], documents[2000:]
    posted = post_all(system, first)

    # Killed while consuming from the queue, with messages in hand and unacknowledged.
    wait_rows(system, users, 400)
    ledger.duplicates_before += duplicate_metric(system)
    system.kill("planner")
    killed_at = [count_rows(system, planner_events, users)]
    post_all(system, second, posted=posted)  # while it is dead
    ledger.planner_killed(system)
    system.start("planner", ready="/healthz")  # it catches up with the feed before consuming

    # Killed again while catching up or consuming, whichever it is doing by then.
    wait_rows(system, users, killed_at[0] + 800)
    ledger.duplicates_before += duplicate_metric(system)
    system.kill("planner")
    killed_at.append(count_rows(system, planner_events, users))
    ledger.planner_killed(system)
    system.start("planner", timeout_s=300)

    settled = wait_settled(system, users, len(posted.accepted), timeout_s=300)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    print(
        f"fault b: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"killed at {killed_at} applied, {time.monotonic() - started:.1f}s in all "
        f"(settled {settled.seconds:.1f}s after the last start), {settled}"
    )
