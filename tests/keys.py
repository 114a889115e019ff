"""API keys for the tests: a few clients, each with a live key, in a registry or a clients file."""

from dataclasses import dataclass
from pathlib import Path

from backtrack_shared.auth import (
    ADMIN,
    ALL_SCOPES,
    AUDIT_READ,
    CLINICAL_WRITE,
    EVENTS_WRITE,
    ROUTINE_READ,
    Client,
    Registry,
    clients_file,
    issue_key,
)

# client id -> the scopes of its key
CLIENTS = {
    "ops": list(ALL_SCOPES),  # an operator: admin, every user
    "acme": [EVENTS_WRITE, ROUTINE_READ, AUDIT_READ],  # an app: its own users only
    "globex": [EVENTS_WRITE, ROUTINE_READ, AUDIT_READ],  # another company's app
    "clinic": [EVENTS_WRITE, CLINICAL_WRITE, ROUTINE_READ, AUDIT_READ],  # a clinic's system
    "reader": [ROUTINE_READ],  # a read-only key
    "planner": [ADMIN],  # the planner's own key to traininglog's feed
}


@dataclass(frozen=True)
class TestKeys:
    registry: Registry
    key: dict[str, str]  # client id -> its key

    def header(self, client_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key[client_id]}"}

    def write(self, path: Path) -> Path:
        clients_file.save(path, self.registry)
        return path


def make_keys() -> TestKeys:
    keys, records = {}, []
    for client_id, scopes in CLIENTS.items():
        keys[client_id], record = issue_key(client_id, scopes, "2026-11-26T00:00:00+00:00")
        records.append(record)
    return TestKeys(Registry([Client(c, c) for c in CLIENTS], records), keys)


KEYS = make_keys()
