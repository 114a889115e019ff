"""The shapes of traininglog's HTTP answers and query strings, for validation and the OpenAPI document."""

from marshmallow import Schema, fields, validate

from backtrack_shared.auth.http import OwnerQuerySchema
from backtrack_shared.contracts import StoredEnvelopeSchema


class ReceiptSchema(Schema):
    event_id = fields.String(required=True)
    user_id = fields.String(required=True)
    stream_version = fields.Integer(required=True)
    position = fields.Integer(required=True)


class AccessSchema(Schema):
    user_id = fields.String(required=True)
    client_id = fields.String(required=True)
    granted = fields.Boolean(required=True, metadata={"description": "Access as it is now."})
    event_id = fields.String(
        allow_none=True,
        metadata={
            "description": "The access.granted or access.revoked event; null if nothing "
            "changed (it already was so)."
        },
    )
    position = fields.Integer(allow_none=True)


class BatchRequestSchema(Schema):
    events = fields.List(
        fields.Raw(allow_none=True),  # a null item is rejected on its own, as any bad item
        required=True,
        validate=validate.Length(min=1, error="Send at least one event."),
        metadata={
            "description": "Envelopes, as for POST /v1/events (NewEvent); each is validated "
            "on its own."
        },
    )


class BatchItemSchema(Schema):
    index = fields.Integer(required=True)
    event_id = fields.String(allow_none=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("stored", "duplicate", "conflict", "rejected"))
    )
    stream_version = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True)
    errors = fields.Dict(
        metadata={"description": "Field-level reasons, for rejected and conflict."}
    )


class BatchResponseSchema(Schema):
    results = fields.List(fields.Nested(BatchItemSchema), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


# The largest values the event store's columns hold: stream_version is a 32-bit integer, position a
# 64-bit one. A larger value in a query is bad input (422), never a database error.
MAX_STREAM_VERSION = 2**31 - 1
MAX_POSITION = 2**63 - 1


class StreamQuerySchema(OwnerQuerySchema):
    after_version = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_STREAM_VERSION)
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StreamPageSchema(Schema):
    user_id = fields.String(required=True)
    events = fields.List(fields.Nested(StoredEnvelopeSchema), required=True)
    next_after_version = fields.Integer(
        allow_none=True,
        metadata={"description": "Pass as after_version for the next page; null at the end."},
    )


class FeedQuerySchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class FeedPageSchema(Schema):
    events = fields.List(fields.Nested(StoredEnvelopeSchema), required=True)
    next_after = fields.Integer(
        required=True, metadata={"description": "The last position in this page: pass as `after`."}
    )
    head = fields.Integer(
        required=True,
        metadata={"description": "The highest position stored when this page was read."},
    )
