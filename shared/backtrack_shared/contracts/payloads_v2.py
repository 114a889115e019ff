"""Schema version 2 of the payloads that have one. Version 1 stays readable forever: the
registry upcasts a stored version 1 payload to version 2 when it is read."""

from typing import Any

from marshmallow import fields, validate

from backtrack_shared.contracts.payloads_v1 import PainReportedV1

RADIATION = ("none", "buttock", "thigh", "below_knee", "unknown")


class PainReportedV2(PainReportedV1):
    # Whether the pain travels into the leg, and how far: what a physiotherapist asks next.
    radiates_to = fields.String(load_default="unknown", validate=validate.OneOf(RADIATION))


def pain_reported_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A version 1 report never said where the pain travels."""
    return {**payload, "radiates_to": "unknown"}
