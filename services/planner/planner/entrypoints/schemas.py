"""The shapes of the planner's HTTP answers, for the OpenAPI document."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backtrack_shared.auth.http import OwnerQuerySchema
from backtrack_shared.auth.keys import CLIENT_ID_PATTERN
from backtrack_shared.contracts.envelope import USER_ID_PATTERN, validate_user_id


class LastChangeSchema(Schema):
    rule = fields.String(required=True, metadata={"description": "The DOMAIN.md rule id, e.g. P1"})
    reason = fields.String(required=True)
    caused_by = fields.List(fields.String(), required=True)
    at = fields.String(required=True, metadata={"description": "RFC 3339"})


class HoldSchema(Schema):
    rule = fields.String(required=True)
    reason = fields.String(required=True)


class PrescriptionSchema(Schema):
    exercise = fields.String(required=True)
    kind = fields.String(required=True)
    dose = fields.Dict(required=True)
    variation_level = fields.Integer(required=True)
    variation = fields.String()
    last_change = fields.Nested(LastChangeSchema, required=True)
    cues = fields.List(fields.String())
    hold = fields.Nested(
        HoldSchema, allow_none=True, metadata={"description": "Why it is not progressing now."}
    )
    maintenance = fields.Nested(
        HoldSchema,
        allow_none=True,
        metadata={"description": "D20: at the top of its ladder, kept as maintenance, and why."},
    )


class BlockSchema(Schema):
    block = fields.String(required=True)
    prescriptions = fields.List(fields.Nested(PrescriptionSchema), required=True)


class AdviceSchema(Schema):
    rule = fields.String(required=True)
    severity = fields.String(
        required=True, metadata={"description": "info, caution, urgent or emergency"}
    )
    text = fields.String(required=True)
    caused_by = fields.List(fields.String(), required=True)


class HeldOutSchema(Schema):
    exercise = fields.String(required=True)
    block = fields.String(required=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True)
    caused_by = fields.List(fields.String(), required=True)


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
    # Not required: routine versions recorded by older rules may lack them.
    held_out = fields.List(fields.Nested(HeldOutSchema))
    advice = fields.List(fields.Nested(AdviceSchema))
    weekly_plan = fields.Dict()
    goals = fields.List(fields.Dict())
    deload = fields.Dict()
    recent_changes = fields.List(fields.Dict())
    based_on = fields.Dict()
    unapplied_events = fields.List(
        fields.Dict(),
        metadata={
            "description": "Events of this user the rules could not fold ({event_id, error}): "
            "while there are any, the routine is paused. Absent when there are none."
        },
    )
    session_estimate_min = fields.Float(
        metadata={"description": "D11: a training day's estimated minutes (rules 2026.12-1 on)."}
    )
    session_budget_min = fields.Integer(
        metadata={"description": "D11: the minutes a training day stays within."}
    )


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


class RoutineQuerySchema(OwnerQuerySchema):
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
    """Exactly one of the two: rebuilding everyone is never what an empty request means."""

    user_id = fields.String(
        validate=validate_user_id,
        metadata={
            "description": "Rebuild this user only (synchronously).",
            "pattern": USER_ID_PATTERN,
        },
    )
    owner = fields.String(
        validate=validate.Regexp(CLIENT_ID_PATTERN),
        metadata={"description": "The client whose user `user_id` is; by default the caller."},
    )
    all = fields.Boolean(
        validate=validate.Equal(True),
        metadata={"description": "true: rebuild every user, in the background."},
    )

    @validates_schema
    def _one_of_the_two(self, data: dict[str, object], **_: object) -> None:
        if ("user_id" in data) == ("all" in data):
            raise ValidationError(
                'Send {"user_id": ...} to rebuild one user, or {"all": true} to rebuild everyone.',
                field_name="user_id",
            )


class RebuildStatusSchema(Schema):
    state = fields.String(required=True, metadata={"description": "idle, running, done, failed"})
    events_read = fields.Integer(metadata={"description": "Events stored from the feed so far"})
    events_folded = fields.Integer(metadata={"description": "Events folded into routines so far"})
    position = fields.Integer()
    head = fields.Integer()
    error = fields.String()
    skipped_users = fields.List(
        fields.Dict(),
        metadata={
            "description": "Users with an event that could not be read ({user_id, "
            "error}): that event is skipped and their routines pause naming it."
        },
    )


class UserRebuildSchema(Schema):
    user_id = fields.String(required=True)
    events_read = fields.Integer(required=True)
    routine_version = fields.Integer(allow_none=True)


class RoutineHistorySchema(Schema):
    user_id = fields.String(required=True)
    versions = fields.List(fields.Nested(RoutineVersionSchema), required=True)
