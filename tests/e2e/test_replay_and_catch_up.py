"""Replay for audits and catch-up: a full replay reproduces the live routine versions byte for
byte; a planner with an empty database, or one that missed messages, converges from the feed."""

import json
import sys
import time
from pathlib import Path

import pika
import pytest

from tests.e2e.client import (
    as_envelope,
    history,
    metric,
    post_all,
    routine,
    wait_applied,
    wait_rebuilt,
)
from tests.e2e.conftest import System
from tests.factories import new_user_id, pain, workout

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "planner_domain"))
from scenario_runner import all_names, load, play

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scenario_users(system: System) -> list[str]:
    """Every 12-week scenario, posted in history order and applied live."""
    users = []
    for name in all_names():
        played = play(load(name))
        positions = post_all(system, [as_envelope(event) for event in played.events])
        wait_applied(system, played.user, max(positions))
        users.append(played.user)
    return users


def versions_text(system: System, users: list[str]) -> dict[str, str]:
    return {user: json.dumps(history(system, user), sort_keys=True) for user in users}


def test_live_versions_equal_a_full_replay_for_every_scenario(system, scenario_users):
    live = versions_text(system, scenario_users)
    for user in scenario_users:
        audit = system.http.get(f"{system.planner.url}/v1/users/{user}/audit", timeout=30).json()
        assert audit["reproduced"], audit
        assert audit["recorded_versions"] == len(json.loads(live[user])) > 1

    started = system.http.post(
        f"{system.planner.url}/v1/admin/rebuild", json={"all": True}, timeout=5
    )
    assert started.status_code == 202
    assert wait_rebuilt(system)["state"] == "done"
    assert versions_text(system, scenario_users) == live


def test_one_user_rebuilt_alone_gets_the_same_versions(system, scenario_users):
    user = scenario_users[0]
    live = versions_text(system, [user])
    answer = system.http.post(
        f"{system.planner.url}/v1/admin/rebuild", json={"user_id": user}, timeout=60
    ).json()
    assert answer["events_read"] > 0 and answer["routine_version"] >= 1
    assert versions_text(system, [user]) == live


def test_a_planner_restarted_on_an_empty_database_converges(system, scenario_users):
    before = versions_text(system, scenario_users)
    system.stop_planner()
    system.start_planner(forget_everything=True)
    for user in scenario_users:
        wait_applied(system, user, json.loads(before[user])[-1]["applied_position"])
    assert versions_text(system, scenario_users) == before


def test_a_planner_that_missed_messages_catches_up_from_the_feed(system):
    user = new_user_id()
    system.stop_planner()
    positions = post_all(system, [pain(user, score=1, day=0), workout(user, day=1)])
    deadline = time.monotonic() + 20  # the relay publishes them to the planner's queue ...
    while (
        metric(system.traininglog.url, "traininglog_outbox_backlog") and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert metric(system.traininglog.url, "traininglog_outbox_backlog") == 0
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        channel = connection.channel()
        for queue in system.topology.partition_queues:
            channel.queue_purge(queue)  # ... and they are lost
    finally:
        connection.close()
    system.start_planner()
    assert wait_applied(system, user, max(positions))["applied_position"] == max(positions)
    assert routine(system, user)["status"] == "active"
