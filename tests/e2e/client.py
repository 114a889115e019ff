"""What the end-to-end tests do over HTTP, the way a client app would."""

import re
import time
import uuid
from typing import Any

import requests

from planner.domain import LoggedEvent
from tests.e2e.conftest import System
from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS


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


UNTRUSTED = "planner_events_untrusted_total"


def session(client_id: str | None) -> requests.Session:
    http = requests.Session()
    if client_id is not None:
        http.headers.update(KEYS.header(client_id))
    return http


def acme_user_applied(system: System) -> str:
    user = new_user_id()
    acme = session("acme")
    positions = []
    for document in (baseline(user), workout(user, day=1), pain(user, score=2, day=1)):
        answer = acme.post(f"{system.traininglog.url}/v1/events", json=document, timeout=5)
        assert answer.status_code == 201, answer.text
        positions.append(answer.json()["position"])
    wait_applied(system, user, max(positions), owner="acme")
    return user


def wait_rebuilt(system: System, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = system.http.get(f"{system.planner.url}/v1/admin/rebuild", timeout=5).json()
        if status["state"] in ("done", "failed"):
            return status  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("rebuild did not finish")


def last_envelope(system: System, user: str) -> dict[str, Any]:
    """The user's newest stored envelope, from the operator's feed."""
    after, found = 0, None
    while True:
        page = system.http.get(
            f"{system.traininglog.url}/v1/feed", params={"after": after, "limit": 1000}, timeout=10
        ).json()
        for envelope in page["events"]:
            if envelope["user_id"] == user:
                found = envelope
        if not page["events"]:
            assert found is not None
            return found
        after = page["next_after"]


def forged_grant(system: System, user: str, to_client: str) -> dict[str, Any]:
    """A well-formed stored `access.granted` that traininglog never stored."""
    template = last_envelope(system, user)
    return {
        **template,
        "event_id": str(uuid.uuid4()),
        "type": "access.granted",
        "schema_version": 1,
        "payload": {"client_id": to_client, "requested_by": "ops"},
        "stream_version": template["stream_version"] + 1,
        "position": template["position"] + 1,
    }
