"""What the end-to-end tests do over HTTP, the way a client app would."""

import re
import time
from typing import Any

import requests

from planner.domain import LoggedEvent
from tests.e2e.conftest import System


def as_envelope(event: LoggedEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "schema_version": 1,
        "user_id": event.user_id,
        "occurred_at": event.occurred_at.isoformat(),
        "source": dict(event.source),
        "payload": dict(event.payload),
    }


def post_all(system: System, documents: list[dict[str, Any]]) -> list[int]:
    """Store every document through the batch endpoint; return their positions."""
    positions = []
    for start in range(0, len(documents), 100):
        chunk = documents[start : start + 100]
        answer = system.http.post(
            f"{system.traininglog.url}/v1/events/batch", json={"events": chunk}, timeout=30
        ).json()
        assert answer["counts"]["stored"] + answer["counts"]["duplicate"] == len(chunk), answer
        positions += [result["position"] for result in answer["results"]]
    return positions


def _owned(owner: str | None) -> dict[str, str]:
    """The query naming whose user it is (None: the operator's own, who wrote them)."""
    return {"owner": owner} if owner else {}


def routine(system: System, user_id: str, owner: str | None = None) -> dict[str, Any]:
    url = f"{system.planner.url}/v1/users/{user_id}/routine"
    return system.http.get(url, params=_owned(owner), timeout=5).json()  # type: ignore[no-any-return]


def history(system: System, user_id: str, owner: str | None = None) -> list[dict[str, Any]]:
    url = f"{system.planner.url}/v1/users/{user_id}/routine/history"
    return system.http.get(url, params=_owned(owner), timeout=10).json()["versions"]  # type: ignore[no-any-return]


def wait_applied(
    system: System, user_id: str, position: int, timeout_s: float = 60, owner: str | None = None
) -> dict[str, Any]:
    """The user's routine once it reflects the event at `position`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = routine(system, user_id, owner)
        if current.get("applied_position", 0) >= position:
            return current
        time.sleep(0.2)
    raise AssertionError(f"position {position} not applied:\n{system.planner.logs()}")


def metric(service_url: str, name: str, **labels: str) -> float:
    text = requests.get(f"{service_url}/metrics", timeout=5).text  # metrics need no key
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        rf"^{re.escape(name)}{{{re.escape(label_text)}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
