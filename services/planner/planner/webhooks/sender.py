"""POSTs a notification signed by the Standard Webhooks scheme (`standardwebhooks`)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from planner.webhooks.policy import VERIFICATION, encode

USER_AGENT = "backtrack-webhooks/1"


@dataclass(frozen=True)
class Answer:
    ok: bool
    error: str | None = None


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (v1, HMAC-SHA256
    of `id.timestamp.body`)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


class HttpSender:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._session = requests.Session()

    def post(self, url: str, secret: str, message_id: str, body: str) -> Answer:
        """A 2xx is delivered; anything else, a timeout or no connection is a failure to retry.
        Redirects are not followed: the registered URL is where notifications go."""
        headers = signed_headers(secret, message_id, body, datetime.now(UTC))
        try:
            answer = requests.post(
                url,
                data=body.encode(),
                headers=headers,
                timeout=self._timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            return Answer(False, f"{type(err).__name__}: {str(err)[:300]}")
        if 200 <= answer.status_code < 300:
            return Answer(True)
        return Answer(False, f"HTTP {answer.status_code}")

    def verify(self, url: str, secret: str) -> Answer:
        """Before the first delivery: a signed `webhook.verification` whose `challenge` the
        endpoint must answer (2xx, JSON `{"challenge": ...}`), so that it shows it is there
        and wants these notifications."""
        challenge = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        body = encode(
            {"type": VERIFICATION, "timestamp": now.isoformat(), "data": {"challenge": challenge}}
        )
        message_id = f"verify_{secrets.token_hex(12)}"
        headers = signed_headers(secret, message_id, body, now)
        try:
            answer = requests.post(
                url,
                data=body.encode(),
                headers=headers,
                timeout=self._timeout_s,
                allow_redirects=False,
            )
            echoed = answer.json().get("challenge") if answer.ok else None
        except (requests.RequestException, ValueError, AttributeError) as err:
            return Answer(False, f"{type(err).__name__}: {str(err)[:300]}")
        if echoed != challenge:
            return Answer(False, f"HTTP {answer.status_code} without the challenge")
        return Answer(True)
