"""Signed, short-lived links to one user's progress page (itsdangerous, HMAC-SHA256).

A link carries whose user it opens (owner and user id), the client that issued it and when
it expires, signed with the planner's secret: a browser holds the link, never an API key.
Changing any character breaks the signature; the expiry is inside what is signed.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from backtrack_shared.user_key import UserKey

DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=7)
_SALT = "backtrack.planner.page-link.v1"


class LinkRefused(Exception):
    """The link is not one this planner signed, or no longer good; the message says which."""


@dataclass(frozen=True)
class PageLink:
    user: UserKey
    issued_by: str  # the client whose key asked for it
    issuer_sees_everyone: bool  # an operator's link: no grant is needed to keep it good
    expires_at: datetime


class PageLinks:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("The page-link secret must be at least 32 characters.")
        self._serializer = URLSafeSerializer(secret, salt=_SALT)

    def issue(self, link: PageLink) -> str:
        return str(
            self._serializer.dumps(
                {
                    "o": link.user.tenant,
                    "u": link.user.user_id,
                    "by": link.issued_by,
                    "all": link.issuer_sees_everyone,
                    "exp": int(link.expires_at.timestamp()),
                }
            )
        )

    def open(self, token: str, now: datetime) -> PageLink:
        try:
            claims = self._serializer.loads(token)
        except BadSignature as err:
            raise LinkRefused("This page link is not valid: it was changed or cut.") from err
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if now >= expires_at:
            raise LinkRefused("This page link has expired: ask for a new one.")
        return PageLink(
            UserKey(claims["o"], claims["u"]), claims["by"], bool(claims["all"]), expires_at
        )


def page_link_secret(given: str, path: Path) -> str:
    """The secret links are signed with: `given` (PLANNER_PAGE_LINK_SECRET), else the file at
    `path`, made on first use (0600) so that every planner sharing the data directory, and the
    same planner after a restart, honours the links it issued."""
    if given:
        return given
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Written whole beside it, then linked into place (atomic): planners starting together
    # never read a file half written, and all use the one that was linked first.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    handle = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(secret + "\n")
        os.link(draft, path)
    except FileExistsError:  # another planner linked theirs first: use it
        return path.read_text().strip()
    finally:
        draft.unlink(missing_ok=True)
    return secret
