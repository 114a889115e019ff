"""A Python client generated from each service's OpenAPI document (openapi-python-client), as
an app developer would make it, drives the running system: an event posted through it is typed
(its payload a class of its own, not a dict), and the routine is read back through it."""

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id
from tests.keys import KEYS

pytestmark = pytest.mark.e2e

# The generator runs in a venv of its own (`make codegen`; it needs pydantic 2, this one pydantic 1).
GENERATOR = Path(
    os.environ.get(
        "OPENAPI_PYTHON_CLIENT",
        Path(__file__).parents[2] / ".venv-codegen" / "bin" / "openapi-python-client",
    )
)


def generated(system: System, url: str, package: str, into: Path) -> ModuleType:
    assert GENERATOR.exists(), f"no {GENERATOR}: `make codegen` installs openapi-python-client"
    spec = into / f"{package}.json"
    spec.write_bytes(system.http.get(f"{url}/openapi.json").content)
    subprocess.run(
        [GENERATOR, "generate", "--path", spec, "--meta", "none", "--output-path", into / package],
        check=True,
        capture_output=True,
        cwd=into,
    )
    sys.path.insert(0, str(into))
    return importlib.import_module(package)


def test_a_generated_client_posts_an_event_and_reads_the_routine(
    system: System, tmp_path: Path
) -> None:
    log = generated(system, system.traininglog.url, "traininglog_client", tmp_path)
    plan = generated(system, system.planner.url, "planner_client", tmp_path)
    from planner_client.api.routine import get_v1_users_user_id_routine  # type: ignore[import-not-found]
    from traininglog_client.api.events import post_v1_events  # type: ignore[import-not-found]
    from traininglog_client.models import (  # type: ignore[import-not-found]
        BaselineAssessedPayload,
        BaselineAssessedV1Event,
        Receipt,
    )

    user = new_user_id()
    event = BaselineAssessedV1Event.from_dict(baseline(user))
    assert isinstance(event.payload, BaselineAssessedPayload)  # typed, not an untyped dict
    key = KEYS.key["acme"]
    receipt = post_v1_events.sync(
        client=log.AuthenticatedClient(base_url=system.traininglog.url, token=key), body=event
    )
    assert isinstance(receipt, Receipt) and receipt.user_id == user

    planner = plan.AuthenticatedClient(base_url=system.planner.url, token=key)
    deadline = time.monotonic() + 30
    answer = get_v1_users_user_id_routine.sync_detailed(user, client=planner)
    while (
        answer.status_code != 200 or answer.parsed.applied_position < receipt.position
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = get_v1_users_user_id_routine.sync_detailed(user, client=planner)
    assert answer.status_code == 200
    routine = answer.parsed
    assert routine.user_id == user and routine.version == 1
    assert routine.blocks and routine.blocks[0].prescriptions
    assert answer.headers["ETag"]
