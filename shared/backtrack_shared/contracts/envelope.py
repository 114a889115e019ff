"""The envelope every event travels in, from the client's POST to the planner's consumer."""

import functools
import json
import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from backtrack_shared import catalogue
from backtrack_shared.contracts import compiled
from backtrack_shared.contracts.limits import EARLIEST_INSTANT, MAX_FUTURE_SKEW
from backtrack_shared.contracts.registry import CLIENT_EVENT_TYPES, EVENT_TYPES, payload_schema

# As OpenAPI (ECMA-262) reads it, where `$` is the end of the text.
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
# Python's `$` also matches before a final newline: "u1\n" would pass. The id is matched whole.
USER_ID_REGEX = re.compile(USER_ID_PATTERN.removesuffix("$") + r"\Z")
validate_user_id = validate.Regexp(
    USER_ID_REGEX,
    error="Must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.",
)


class SourceSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(catalogue.SOURCE_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    # A wearable's own id and version of a record it may re-sync with corrections.
    record_id = fields.String(validate=validate.Length(min=1, max=256))
    record_version = fields.Integer(strict=True, validate=validate.Range(min=0))


class EnvelopeSchema(compiled.CompiledLoad):
    """What a client sends. The payload is checked against the schema of its type and version."""

    event_id = fields.UUID(
        required=True, metadata={"description": "Client-chosen; retries reuse it."}
    )
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    schema_version = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    user_id = fields.String(
        required=True, validate=validate_user_id, metadata={"pattern": USER_ID_PATTERN}
    )
    occurred_at = fields.AwareDateTime(
        required=True,
        format="iso",
        metadata={"description": "RFC 3339 with an offset: when it happened on the device."},
    )
    source = fields.Nested(SourceSchema, required=True)
    payload = fields.Dict(
        required=True,
        metadata={
            "description": "Shaped by `type` and `schema_version`: see the *Payload schemas."
        },
    )

    @validates("occurred_at")
    def _has_a_utc_instant(self, value: datetime, **_: object) -> None:
        # 0001-01-01T00:00:00+01:00 parses, but lies before the first instant a datetime holds.
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "Lies outside the years 1 to 9999 once converted to UTC."
            ) from None

    @validates_schema
    def _is_unicode_text(self, data: dict[str, Any], **_: object) -> None:
        # JSON may escape a lone surrogate (\ud800); no UTF-8 text, so no canonical body, holds one.
        if _encodes_to_utf8(data):  # one look at the whole, then per field only to name them
            return
        bad = [name for name, value in data.items() if not _encodes_to_utf8(value)]
        if bad:
            raise ValidationError(
                {name: ["Contains a lone surrogate: not valid Unicode text."] for name in bad}
            )

    @post_load
    def _load_payload(self, data: dict[str, Any], **_: object) -> dict[str, Any]:
        schema = payload_schema(data["type"], data["schema_version"])
        if schema is None:
            raise ValidationError(
                f"Version {data['schema_version']} of {data['type']} is not known.",
                field_name="schema_version",
            )
        try:
            data["payload"] = compiled.load(_instance(schema), data["payload"])
        except ValidationError as err:
            raise ValidationError(err.messages, field_name="payload") from err
        data["event_id"] = str(data["event_id"])
        return data


@functools.cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per payload schema: building one (and its nested schemas) costs more than
    a load, and loading keeps no state in the instance."""
    return schema()


def _encodes_to_utf8(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode()
    except UnicodeEncodeError:
        return False
    return True


class NewEventSchema(EnvelopeSchema):
    """An envelope a client sends now: one of the client event types, from a client source,
    and its occurred_at may not lie far in the future."""

    type = fields.String(required=True, validate=validate.OneOf(CLIENT_EVENT_TYPES))

    @validates("source")
    def _from_a_client(self, value: dict[str, Any], **_: object) -> None:
        if value.get("kind") == catalogue.SYSTEM_SOURCE_KIND:
            raise ValidationError({"kind": ["Only the services write system events."]})

    @validates("occurred_at")
    def _a_plausible_instant(self, value: datetime, **_: object) -> None:
        refusal = implausible_instant(value)
        if refusal:
            raise ValidationError(refusal)


def implausible_instant(value: datetime, now: datetime | None = None) -> str | None:
    """Why a client's instant is not one a rehab log holds (limits.py), or None if it may be."""
    if value < EARLIEST_INSTANT:
        return f"Lies before {EARLIEST_INSTANT.date().isoformat()}: a device clock that was reset."
    if value - (now or datetime.now(UTC)) > MAX_FUTURE_SKEW:
        return "Lies more than 24 hours in the future."
    return None


class StoredEnvelopeSchema(EnvelopeSchema):
    """An envelope as the store hands it out: with its server time and its place in the log."""

    recorded_at = fields.AwareDateTime(required=True, format="iso")
    tenant = fields.String(
        required=True, metadata={"description": "The client application whose user this is."}
    )
    stream_version = fields.Integer(required=True, metadata={"description": "Per user, gapless."})
    position = fields.Integer(required=True, metadata={"description": "Global, monotonic."})


def canonical_body(envelope: dict[str, Any]) -> str:
    """The client-supplied part of a loaded envelope as canonical JSON: equal bodies, equal text."""
    body = {
        "event_id": envelope["event_id"],
        "type": envelope["type"],
        "schema_version": envelope["schema_version"],
        "user_id": envelope["user_id"],
        "occurred_at": envelope["occurred_at"].isoformat(),
        "source": envelope["source"],
        "payload": envelope["payload"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
