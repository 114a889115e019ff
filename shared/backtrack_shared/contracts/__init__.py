"""Versioned event contracts: the envelope every event travels in and the payload of each type."""

from backtrack_shared.contracts.envelope import (
    MAX_FUTURE_SKEW,
    EnvelopeSchema,
    NewEventSchema,
    SourceSchema,
    StoredEnvelopeSchema,
    canonical_body,
)
from backtrack_shared.contracts.registry import (
    EVENT_TYPES,
    LATEST_VERSIONS,
    payload_schema,
    upcast,
)

__all__ = [
    "EVENT_TYPES",
    "LATEST_VERSIONS",
    "MAX_FUTURE_SKEW",
    "EnvelopeSchema",
    "NewEventSchema",
    "SourceSchema",
    "StoredEnvelopeSchema",
    "canonical_body",
    "payload_schema",
    "upcast",
]
