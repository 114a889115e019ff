"""What only a clinician may say (DESIGN.md, "Trust boundaries"). Pure: no I/O.

A clearance ends a pause, and an event from a clinician speaks with a clinician's authority, so
only a client whose key holds the clinical scope may send either; for anyone else the field
that makes the event clinical is named with the reason.
"""

from dataclasses import dataclass
from typing import Any

from backtrack_shared.auth import CLINICAL_WRITE

CLEARANCE = "clearance.recorded"
CLINICIAN = "clinician"
CLEARANCE_REASON = f"Only a key with the scope {CLINICAL_WRITE} may send {CLEARANCE}."
CLINICIAN_REASON = f"Only a key with the scope {CLINICAL_WRITE} may send events from a clinician."
# For the OpenAPI document of the writes.
REFUSAL = f"Or a clinical event ({CLEARANCE}, or source.kind {CLINICIAN}) without {CLINICAL_WRITE}."


@dataclass(frozen=True)
class Refusal:
    reason: str
    errors: dict[str, Any]  # field-level, as marshmallow reports them


def clinical_refusal(envelope: dict[str, Any]) -> Refusal | None:
    """Why `envelope` is refused to a client without the clinical scope, or None when anyone
    may send it."""
    if envelope["type"] == CLEARANCE:
        return Refusal(CLEARANCE_REASON, {"type": [CLEARANCE_REASON]})
    if envelope["source"]["kind"] == CLINICIAN:
        return Refusal(CLINICIAN_REASON, {"source": {"kind": [CLINICIAN_REASON]}})
    return None
