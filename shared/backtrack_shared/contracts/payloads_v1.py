"""Schema version 1 of every event payload. Fields may be added in a new version, never renamed."""

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backtrack_shared import catalogue
from backtrack_shared.contracts import limits as lim
from backtrack_shared.contracts import plausible

_SLUG = validate.OneOf(catalogue.EXERCISES)
_SHORT_TEXT = validate.Length(min=1, max=128)


class JsonBoolean(fields.Boolean):
    """JSON true or false, as the OpenAPI document says: not 1, "yes" or "on"."""

    only_json_booleans = True  # what the compiled loading path (contracts/compiled.py) reads

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class SetSchema(Schema):
    reps = fields.Integer(strict=True, validate=plausible.within(lim.REPS))
    load_kg = fields.Float(validate=plausible.within(lim.LOAD_KG))
    hold_s = fields.Float(validate=plausible.within(lim.HOLD_S))
    duration_min = fields.Float(validate=plausible.within(lim.SET_DURATION_MIN))

    @validates_schema
    def _not_empty(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError(
                "A set needs at least one of reps, load_kg, hold_s, duration_min."
            )


class ExerciseEntrySchema(Schema):
    exercise = fields.String(required=True, validate=_SLUG)
    kind = fields.String(required=True, validate=validate.OneOf(catalogue.EXERCISE_KINDS))
    sets = fields.List(
        fields.Nested(SetSchema),
        load_default=list,
        validate=plausible.at_most(lim.SETS_PER_EXERCISE),
    )
    completed = JsonBoolean(required=True)
    stopped_for_pain = JsonBoolean(load_default=False)
    rpe = fields.Float(validate=validate.Range(min=0, max=10))

    _kind_of_the_exercise = validates_schema(plausible.kind_of_the_exercise)


class WorkoutLoggedV1(Schema):
    session_id = fields.String(required=True, validate=_SHORT_TEXT)
    duration_min = fields.Float(validate=plausible.within(lim.WORKOUT_DURATION_MIN))
    exercises = fields.List(
        fields.Nested(ExerciseEntrySchema),
        required=True,
        validate=plausible.at_most(lim.EXERCISES_PER_WORKOUT, at_least=1),
    )

    _minutes_fit_the_session = validates_schema(plausible.minutes_fit_the_session)


class PainReportedV1(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10))
    timing = fields.String(required=True, validate=validate.OneOf(catalogue.PAIN_TIMINGS))
    location = fields.String(required=True, validate=_SHORT_TEXT)
    session_id = fields.String(validate=_SHORT_TEXT)
    exercise = fields.String(validate=_SLUG)
    lasting_hours = fields.Float(validate=validate.Range(min=0, max=24 * 30))
    # Present when the user declares a flare-up: the kind of work they attribute it to.
    flare_up_cause = fields.String(validate=validate.OneOf((*catalogue.EXERCISE_KINDS, "other")))
    red_flags = fields.List(
        fields.String(validate=validate.OneOf(catalogue.RED_FLAGS)),
        load_default=list,
        validate=plausible.each_once(lim.MAX_RED_FLAGS),
    )


class BaselineAssessedV1(Schema):
    walk_min = fields.Float(validate=validate.Range(min=0, max=600))
    plank_s = fields.Float(validate=validate.Range(min=0, max=600))
    pain_at_rest = fields.Integer(strict=True, validate=validate.Range(min=0, max=10))
    flexibility = fields.String(validate=validate.OneOf(catalogue.FLEXIBILITY_LEVELS))
    contraindications = fields.List(fields.String(validate=_SHORT_TEXT), load_default=list)
    time_zone = fields.String(validate=plausible.iana_time_zone)
    # D11: the length a training session should stay within; D19: what the person can use.
    session_budget_min = fields.Integer(strict=True, validate=validate.Range(min=20, max=120))
    access = fields.List(fields.String(validate=validate.OneOf(catalogue.ACCESS)))


class GoalSetV1(Schema):
    goal_id = fields.String(required=True, validate=_SHORT_TEXT)
    metric = fields.String(required=True, validate=validate.OneOf(catalogue.GOAL_METRICS))
    target = fields.Float(required=True, validate=validate.Range(min=0, max=100_000))
    period = fields.String(required=True, validate=validate.OneOf(catalogue.GOAL_PERIODS))
    exercise = fields.String(validate=_SLUG)
    description = fields.String(validate=validate.Length(max=500))

    _target_a_body_reaches = validates_schema(plausible.goal_target)


class RecoveryLoggedV1(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(catalogue.RECOVERY_KINDS))
    duration_min = fields.Float(validate=validate.Range(min=0, max=24 * 60))
    note = fields.String(validate=validate.Length(max=500))


class ClearanceRecordedV1(Schema):
    clinician = fields.String(required=True, validate=_SHORT_TEXT)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(catalogue.CLEARANCE_SCOPES)),
        required=True,
        validate=validate.Length(min=1),
    )
    note = fields.String(validate=validate.Length(max=500))


class UserErasedV1(Schema):
    """Written by traininglog itself when a user is forgotten: no health data, only who asked."""

    requested_by = fields.String(required=True, validate=_SHORT_TEXT)


class AccessChangedV1(Schema):
    """Written by traininglog when an operator grants another client application access to a
    user, or takes it back (`access.granted`, `access.revoked`)."""

    client_id = fields.String(required=True, validate=validate.Regexp(r"[a-z0-9][a-z0-9-]{0,62}\Z"))
    requested_by = fields.String(required=True, validate=_SHORT_TEXT)


class RecordRetractedV1(Schema):
    """A client takes back a record it sent: one event, by its `event_id`, or every version of
    a re-synced record stored before the retraction, by its `source.record_id` (of the source
    `source_name`, by default the retraction's own). The log keeps both; the planner folds as
    if the record had never been, but a red flag it carried still pauses the routine."""

    event_id = fields.UUID()
    record_id = fields.String(validate=validate.Length(min=1, max=256))
    source_name = fields.String(validate=_SHORT_TEXT)
    reason = fields.String(validate=validate.Length(max=500))

    @validates_schema
    def _names_one_record(self, data: dict, **_: object) -> None:
        if ("event_id" in data) == ("record_id" in data):
            raise ValidationError("Name the record by event_id or by record_id: one of the two.")
        if "source_name" in data and "record_id" not in data:
            raise ValidationError(
                "source_name names the source of a record_id.", field_name="source_name"
            )

    @post_load
    def _event_id_as_text(self, data: dict, **_: object) -> dict:
        if "event_id" in data:
            data["event_id"] = str(data["event_id"])
        return data
