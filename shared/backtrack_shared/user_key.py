"""How both services key a user: by the client that owns them and the id that client chose.

A user id is the owning client's own (DESIGN.md, "Trust boundaries"): two clients may each have
a `patient-1001`, and they are two users. Every table of either service that holds something
of a user keys it by (tenant, user_id), and a stored envelope carries both.
"""

from typing import Any, NamedTuple


class UserKey(NamedTuple):
    tenant: str  # the client application that owns the user
    user_id: str  # the id that client gave them


def key_of(envelope: dict[str, Any]) -> UserKey:
    """The user a stored envelope (one with its `tenant`) belongs to."""
    return UserKey(envelope["tenant"], envelope["user_id"])
