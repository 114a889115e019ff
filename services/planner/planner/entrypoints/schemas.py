"""The shapes of the planner's HTTP answers, for the OpenAPI document."""

from marshmallow import Schema, fields


class LastChangeSchema(Schema):
    rule = fields.String(required=True, metadata={"description": "The DOMAIN.md rule id, e.g. P1"})
    reason = fields.String(required=True)
    caused_by = fields.List(fields.String(), required=True)
    at = fields.String(required=True, metadata={"description": "RFC 3339"})


class PrescriptionSchema(Schema):
    exercise = fields.String(required=True)
    kind = fields.String(required=True)
    dose = fields.Dict(required=True)
    variation_level = fields.Integer(required=True)
    last_change = fields.Nested(LastChangeSchema, required=True)


class BlockSchema(Schema):
    block = fields.String(required=True)
    prescriptions = fields.List(fields.Nested(PrescriptionSchema), required=True)


class RoutineSchema(Schema):
    user_id = fields.String(required=True)
    version = fields.Integer(allow_none=True, metadata={"description": "null for an as_of view"})
    rules_version = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active or paused"})
    pause_reason = fields.String(allow_none=True)
    applied_position = fields.Integer(
        required=True,
        metadata={
            "description": "Highest traininglog feed position of this user's events reflected."
        },
    )
    as_of = fields.String(required=True)
    blocks = fields.List(fields.Nested(BlockSchema), required=True)


class ProgressSchema(Schema):
    user_id = fields.String(required=True)
    rules_version = fields.String(required=True)
    as_of = fields.String(required=True)
    weeks = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "Per local ISO week: pain mean/max/reports, sessions, minutes, load."
        },
    )
    acute_chronic = fields.Raw(
        allow_none=True,
        metadata={"description": "7-day vs 28-day load; null before 28 days of data."},
    )
    goals = fields.List(fields.Dict(), required=True)


class RoutineQuerySchema(Schema):
    as_of = fields.AwareDateTime(
        format="iso", metadata={"description": "RFC 3339 instant: the routine as it stood then."}
    )


class RoutineVersionSchema(Schema):
    version = fields.Integer(required=True)
    rules_version = fields.String(required=True)
    as_of = fields.String(required=True)
    applied_position = fields.Integer(required=True)
    caused_by = fields.List(fields.String(), required=True)
    changes = fields.List(fields.Dict(), required=True)
    routine = fields.Dict(required=True)


class AuditSchema(Schema):
    user_id = fields.String(required=True)
    rules_version = fields.String(required=True, metadata={"description": "Today's rules"})
    recorded_versions = fields.Integer(required=True)
    replayed_versions = fields.Integer(required=True)
    reproduced = fields.Boolean(
        required=True, metadata={"description": "Today's rules make every recorded version again."}
    )
    versions = fields.List(fields.Dict(), required=True)


class RebuildRequestSchema(Schema):
    user_id = fields.String(
        metadata={"description": "Rebuild this user only (synchronously); absent: everyone."}
    )


class RebuildStatusSchema(Schema):
    state = fields.String(required=True, metadata={"description": "idle, running, done, failed"})
    events_read = fields.Integer()
    position = fields.Integer()
    head = fields.Integer()
    error = fields.String()


class UserRebuildSchema(Schema):
    user_id = fields.String(required=True)
    events_read = fields.Integer(required=True)
    routine_version = fields.Integer(allow_none=True)


class RoutineHistorySchema(Schema):
    user_id = fields.String(required=True)
    versions = fields.List(fields.Nested(RoutineVersionSchema), required=True)
