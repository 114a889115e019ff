"""The clients file: every client application and the hashes of its keys, as JSON.

Both services read the same file (a mounted secret in production, `data/clients.json` under
`make run`) and notice when it changes, so a new key or a revocation takes effect within a
second, without a restart. Only `backtrack-clients` writes it: atomically, readable by its
owner only.
"""

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import structlog

from backtrack_shared.auth.keys import Client, KeyRecord, Registry

FORMAT = 1
log = structlog.get_logger(__name__)


def load(path: Path) -> Registry:
    """The registry in `path`; an absent file is an empty registry (every request answers 401)."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return Registry()
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a clients file of format {FORMAT}")
    clients = [Client(c["client_id"], c.get("name", "")) for c in document["clients"]]
    keys = [
        KeyRecord(
            key_id=k["key_id"],
            client_id=k["client_id"],
            secret_sha256=k["secret_sha256"],
            scopes=frozenset(k["scopes"]),
            created_at=k["created_at"],
            revoked_at=k.get("revoked_at"),
        )
        for k in document["keys"]
    ]
    return Registry(clients, keys)


def save(path: Path, registry: Registry) -> None:
    document: dict[str, Any] = {
        "format": FORMAT,
        "clients": [{"client_id": c.client_id, "name": c.name} for c in registry.clients.values()],
        "keys": [
            {
                "key_id": k.key_id,
                "client_id": k.client_id,
                "secret_sha256": k.secret_sha256,
                "scopes": sorted(k.scopes),
                "created_at": k.created_at,
                "revoked_at": k.revoked_at,
            }
            for k in registry.keys.values()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class WatchedClientsFile:
    """The registry of a clients file, loaded again when the file changes (checked at most
    once every `check_every_s`). A file that cannot be read keeps the last good registry."""

    def __init__(self, path: Path, check_every_s: float = 1.0) -> None:
        self.path = path
        self._check_every_s = check_every_s
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._registry = Registry()
        self._refresh()

    def registry(self) -> Registry:
        if time.monotonic() - self._checked_at >= self._check_every_s:
            self._refresh()
        return self._registry

    def _refresh(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            try:
                status = self.path.stat()
                stamp = (status.st_mtime_ns, status.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp:
                return
            try:
                self._registry = load(self.path)
                self._stamp = stamp
            except (OSError, ValueError, KeyError) as err:
                # Broken: keep the last good registry and say so; it is read again next time.
                log.warning("clients_file.unreadable", path=str(self.path), error=repr(err))
