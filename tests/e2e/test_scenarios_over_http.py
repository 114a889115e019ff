"""Posting a 12-week history over HTTP to the running system gives the routine the pure engine
computes for the same events, whatever order they arrive in."""

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from planner.adapters.projection_store import logged_event
from planner.domain import derive_routine
from planner.domain.versions import AS_OF_PARTS
from tests.e2e.client import as_envelope, post_all, wait_applied
from tests.e2e.conftest import System

# The scenario files and their player live beside the domain's unit tests (imported the way
# pytest imports them there).
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "planner_domain"))
from scenario_runner import all_names, load, play

pytestmark = pytest.mark.e2e

# What the planner adds around the routine the rules derive, and the routine's provenance: the
# served routine is its last version's, made by the last event that changed it (not the last).
SERVICE_FIELDS = {"user_id", "version", "applied_position", "as_of", "based_on"}


@pytest.mark.parametrize("name", all_names())
def test_a_twelve_week_history_posted_over_http_gives_the_pure_engines_routine(
    system: System, name: str
):
    history = play(load(name))
    documents = [as_envelope(event) for event in history.events]
    random.Random(name).shuffle(documents)  # a wearable's late, out-of-order sync
    positions = post_all(system, documents)
    read_from = datetime.now(UTC)
    routine = wait_applied(system, history.user, max(positions))
    read_until = datetime.now(UTC)

    stored = system.http.get(
        f"{system.traininglog.url}/v1/users/{history.user}/events",
        params={"limit": 1000},
        timeout=10,
    ).json()["events"]
    events = [logged_event(envelope) for envelope in stored]
    as_of = max(event.occurred_at for event in events)
    expected = derive_routine(events, as_of).to_dict()
    expected.pop("based_on")
    served = {key: value for key, value in routine.items() if key not in SERVICE_FIELDS}
    # Advice, the weekly plan and goal progress are those of the instant the routine was read
    # (finding 10): the engine's at one of the instants around the read.
    read_at = [derive_routine(events, when).to_dict() for when in (read_from, read_until)]
    assert any(all(served[part] == now[part] for part in AS_OF_PARTS) for now in read_at), {
        part: served[part] for part in AS_OF_PARTS
    }
    served = {key: value for key, value in served.items() if key not in AS_OF_PARTS}
    expected = {key: value for key, value in expected.items() if key not in AS_OF_PARTS}
    assert json.dumps(served, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert datetime.fromisoformat(routine["as_of"]) <= as_of

    progress = system.http.get(
        f"{system.planner.url}/v1/users/{history.user}/progress", timeout=10
    ).json()
    assert len(progress["weeks"]) >= 12
