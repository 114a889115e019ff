"""The README's curl examples, run exactly as written against the running services."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import System
from tests.keys import KEYS
from tests.wearable_exports import Sport, fit_activity

pytestmark = pytest.mark.e2e

README = Path(__file__).parents[2] / "README.md"


def curl_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    commands: list[str] = []
    for block in blocks:
        for command in re.split(r"\n(?=curl )", block.strip()):
            if command.startswith("curl "):
                commands.append(command)
    return commands


def run(command: str, system: System, cwd: Path | None = None) -> dict:
    """Run a README command as written, on the test system's ports, with KEY set as the README
    sets it (an operator's key, as `make run`'s development key is)."""
    ports = {"localhost:8001": system.traininglog.url, "localhost:8002": system.planner.url}
    for written, actual in ports.items():
        command = command.replace(written, actual.removeprefix("http://"))
    output = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "KEY": KEYS.key["ops"]},
        cwd=cwd,
    )
    return json.loads(output.stdout)  # type: ignore[no-any-return]


def test_the_readme_examples_work_as_written(system: System, tmp_path: Path):
    commands = curl_commands()
    assert len(commands) == 14
    post_one, post_batch, stream, feed, routine, history, bad, *imports, erase, page_link, fhir = commands[:13]
    webhook = commands[13]
    health_connect, fit, retraction = imports

    stored = run(post_one, system)
    assert stored["user_id"] == "ana" and stored["stream_version"] == 1
    assert run(post_one, system) == stored  # the same request again: the same answer

    batch = run(post_batch, system)
    assert batch["counts"] == {"stored": 2, "duplicate": 0, "conflict": 0, "rejected": 0}
    assert [e["stream_version"] for e in run(stream, system)["events"]] == [1, 2, 3]
    assert len(run(feed, system)["events"]) >= 3

    last_position = batch["results"][-1]["position"]
    deadline = time.monotonic() + 20
    answer = run(routine, system)
    while answer.get("applied_position", 0) < last_position and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = run(routine, system)
    assert answer["user_id"] == "ana" and answer["applied_position"] == last_position
    assert run(history, system)["versions"]

    assert run(bad, system)["errors"] == {"json": {"occurred_at": ["Not a valid aware datetime."]}}

    imported = run(health_connect, system)
    assert [r["status"] for r in imported["results"]] == ["stored", "stored", "rejected"]
    assert imported["counts"] == {"stored": 2, "duplicate": 0, "superseded": 0, "rejected": 1}
    assert [r["status"] for r in run(health_connect, system)["results"]] == [
        "duplicate",
        "duplicate",
        "rejected",
    ]
    (tmp_path / "walk.fit").write_bytes(fit_activity(Sport.WALKING, minutes=30))
    assert [r["status"] for r in run(fit, system, cwd=tmp_path)["results"]] == ["stored"]
    assert run(retraction, system)["user_id"] == "ben"

    link = run(page_link, system)
    assert link["user_id"] == "ana" and "/v1/users/ana/page?link=" in link["url"]
    bundle = run(fhir, system)
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]

    erased = run(erase, system)
    assert erased["user_id"] == "ana" and erased["stream_version"] == 4
    assert run(erase, system) == erased  # asked again: the same marker
    deadline = time.monotonic() + 20
    while "code" not in (answer := run(routine, system)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer["code"] == 404  # the planner dropped her routine
    assert run(stream, system)["code"] == 404
    assert run(history, system)["code"] == 404
    assert run(fhir, system)["entry"] == []  # her owner's Bundle is empty now
    assert run(post_one.replace("4a01", "4a09"), system)["code"] == 410  # nothing more for her

    registered = run(webhook, system)
    assert registered["endpoint_id"] == "my-app" and registered["verified"] is False
    assert registered["secret"].startswith("whsec_")
