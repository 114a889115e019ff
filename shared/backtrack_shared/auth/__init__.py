"""Who is calling, and what they may do: API keys per client application, with scopes."""

from backtrack_shared.auth.keys import (
    ADMIN,
    ALL_SCOPES,
    AUDIT_READ,
    CLINICAL_WRITE,
    EVENTS_WRITE,
    ROUTINE_READ,
    Client,
    KeyRecord,
    Principal,
    Registry,
    authenticate,
    issue_key,
)

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "AUDIT_READ",
    "CLINICAL_WRITE",
    "EVENTS_WRITE",
    "ROUTINE_READ",
    "Client",
    "KeyRecord",
    "Principal",
    "Registry",
    "authenticate",
    "issue_key",
]
