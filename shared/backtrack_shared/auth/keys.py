"""API keys, pure: issuing one, storing only its hash, and telling who presents it.

A key reads `bt_<key id>_<secret>`. The key id is public (it names the key in lists, logs and
revocations); the secret is 32 random bytes, so a plain SHA-256 of it is as good as a slow
password hash would be (nothing to guess), and checking a key costs microseconds per request.
The secret itself is shown once, when issued, and stored nowhere.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

EVENTS_WRITE = "events:write"
ROUTINE_READ = "routine:read"
AUDIT_READ = "audit:read"
# A clinician's word: a clearance, or any event from a clinician (it can end a pause).
CLINICAL_WRITE = "clinical:write"
ADMIN = "admin"
ALL_SCOPES = (EVENTS_WRITE, ROUTINE_READ, AUDIT_READ, CLINICAL_WRITE, ADMIN)

CLIENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_KEY = re.compile(r"^bt_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    client_id: str
    secret_sha256: str
    scopes: frozenset[str]
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str


@dataclass(frozen=True)
class Principal:
    """The client a request comes from, and what its key may do. The client is the tenant."""

    client_id: str
    key_id: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        """Admin is the operator's scope: it may do everything, for every tenant."""
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def sees_every_user(self) -> bool:
        """An operator's key: admin work (rebuilds, erasure, the feed) spans every tenant."""
        return ADMIN in self.scopes

    def sees(self, owner: str, grantees: Collection[str] = ()) -> bool:
        """Whether this client may see a user whose events `owner` wrote, and to whom an operator
        granted access to them (`grantees`)."""
        return self.sees_every_user or owner == self.client_id or self.client_id in grantees


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    unknown = chosen - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {', '.join(ALL_SCOPES)}")
    if not chosen:
        raise ValueError("a key needs at least one scope")
    return chosen


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID_PATTERN.match(client_id):
        raise ValueError("a client id is 1-63 lowercase letters, digits and dashes")
    return client_id


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(client_id: str, scopes: Iterable[str], created_at: str) -> tuple[str, KeyRecord]:
    """A new key: the text to hand to the client (once), and the record to store."""
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id, check_client_id(client_id), _sha256(secret), check_scopes(scopes), created_at
    )
    return f"bt_{key_id}_{secret}", record


class Registry:
    """The clients and the hashes of their keys, as loaded from the clients file."""

    def __init__(self, clients: Iterable[Client] = (), keys: Iterable[KeyRecord] = ()) -> None:
        self.clients: Mapping[str, Client] = {c.client_id: c for c in clients}
        self.keys: Mapping[str, KeyRecord] = {k.key_id: k for k in keys}


def authenticate(registry: Registry, presented: str | None) -> Principal | None:
    """The principal a presented key stands for, or None if it is no live key."""
    if not presented:
        return None
    matched = _KEY.match(presented.strip())
    if matched is None:
        return None
    key_id, secret = matched.groups()
    record = registry.keys.get(key_id)
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.secret_sha256, _sha256(secret)):
        return None
    if record.client_id not in registry.clients:
        return None
    return Principal(record.client_id, key_id, record.scopes)
