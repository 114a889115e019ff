"""Fault a: RabbitMQ stopped and started three times while 10,000 events are posted."""

import shutil
import time

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

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]

EVENTS, USERS, OUTAGES = 10_000, 200, 3


def test_the_broker_restarted_three_times_under_load_loses_and_repeats_nothing(
    fault_system: FaultSystem,
):
    system = fault_system
    system.start("traininglog")
    system.start("planner")
    users, documents = workload(USERS, EVENTS)
    ledger = PlannerLedger.taken(system, users)
    started = time.monotonic()

    # Seven slices: broker up, down, up, down, up, down, up. Events are posted in every slice;
    # each outage begins while the relay and the consumer are busy with the slice before it.
    slices = 2 * OUTAGES + 1
    size = -(-len(documents) // slices)
    posted = Posted()
    broker_down = False
    try:
        for index in range(slices):
            if index % 2:
                run("rabbitmqctl", "stop_app")
                broker_down = True
            post_all(system, documents[index * size : (index + 1) * size], posted=posted)
            if index % 2:
                run("rabbitmqctl", "start_app")
                run("rabbitmqctl", "await_startup")
                broker_down = False
    finally:
        if broker_down:
            run("rabbitmqctl", "start_app")
            run("rabbitmqctl", "await_startup")
    posting_s = time.monotonic() - started

    assert posted.statuses.keys() == {200}, posted.statuses
    settled = wait_settled(system, users, len(posted.accepted), timeout_s=600)
    figures = assert_nothing_lost_nothing_twice(system, users, posted.accepted, ledger)
    # Back-pressure shows in /readyz's body and in /metrics, never as unreadiness.
    assert settled.ready_while_lagging > 0, settled
    print(
        f"fault a: posted {len(documents)}, accepted {len(posted.accepted)}, {figures}, "
        f"posting with {OUTAGES} outages {posting_s:.1f}s, settled {settled.seconds:.1f}s later, {settled}"
    )
