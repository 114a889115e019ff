"""What a webhook delivery is and when it is tried again. Pure."""

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

ROUTINE_UPDATED = "routine.updated"
EVENT_TYPES = (ROUTINE_UPDATED,)
VERIFICATION = "webhook.verification"

# Seconds to wait after each failed try: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h (about 21 h
# in all). The eighth failure makes the delivery a dead letter.
BACKOFF_S: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 43200)
MAX_ATTEMPTS = len(BACKOFF_S) + 1

_DELIVERY_NAMESPACE = uuid.UUID("5b0c2f0e-6a3e-4c55-9d5c-3f1a7d2b9e10")


@dataclass(frozen=True)
class Backoff:
    """When a delivery that failed `attempts` times is tried next; None: it is dead."""

    delays_s: tuple[float, ...] = BACKOFF_S

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s) + 1

    def next_attempt(self, attempts: int, now: float) -> float | None:
        if attempts >= self.max_attempts:
            return None
        return now + self.delays_s[attempts - 1]


def delivery_id(message_id: str, client_id: str, endpoint_id: str) -> str:
    """The notification's `webhook-id`: the same for every try of one message to one endpoint,
    and for a message the broker delivers twice."""
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{message_id}\n{client_id}\n{endpoint_id}"))


def notification(routine_message: dict[str, Any], link_base: str) -> dict[str, Any]:
    """The thin body of a routine.updated notification: who, which version, and where to read
    it (the receiver GETs the routine with its own key). Standard Webhooks' {type, timestamp,
    data} shape."""
    user_id = routine_message["user_id"]
    return {
        "type": ROUTINE_UPDATED,
        "timestamp": routine_message.get("as_of"),
        "data": {
            "user_id": user_id,
            "version": routine_message["version"],
            "applied_position": routine_message.get("applied_position"),
            "link": f"{link_base.rstrip('/')}/v1/users/{user_id}/routine",
        },
    }


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# https:// to any host name or address; http:// to loopback alone; no credentials, no spaces.
URL_PATTERN = (
    r"^(https://[A-Za-z0-9][A-Za-z0-9.-]*|https://\[[0-9A-Fa-f:.]+\]"
    r"|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,5})?([/?#][!-~]*)?$"
)
_URL = re.compile(URL_PATTERN.removesuffix("$") + r"\Z")


def refused_url(url: str) -> str | None:
    """Why a webhook URL is not taken, or None: HTTPS anywhere, plain HTTP only on loopback
    (localhost, 127.0.0.1, [::1])."""
    if _URL.match(url):
        return None
    if url.startswith("http://"):
        return "Must be https://, but for loopback (http://localhost, 127.0.0.1 or [::1])."
    return "Must be an absolute https:// URL without credentials."
