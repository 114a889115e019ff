"""traininglog's import endpoints: a Health Connect export (JSON) or a FIT activity file
(octet-stream) in, one answer per item out, as the batch endpoint answers."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_smorest import abort
from marshmallow import Schema, fields

from backtrack_shared.auth import EVENTS_WRITE
from backtrack_shared.auth.http import (
    RATE_LIMITED_RESPONSE,
    OwnerQuerySchema,
    addressed_user,
    principal,
    rate_limited,
    requires,
)
from backtrack_shared.auth.rate_limit import Limiter
from backtrack_shared.contracts.envelope import USER_ID_PATTERN, validate_user_id
from backtrack_shared.web import ERROR_SCHEMA, Blueprint
from traininglog.adapters.fit_file import UnreadableFitFile, decode_fit
from traininglog.domain.append import Outcome, Writer
from traininglog.domain.imports import fit_activity, health_connect
from traininglog.domain.imports.items import stored_records, supersede, with_items
from traininglog.service_layer.imports import Record, StreamReader, import_items, whole_stream

HC_CONFLICT = {
    "metadata": {
        "clientRecordVersion": [
            "This record was imported in this version with other content: a corrected record "
            "needs a higher clientRecordVersion."
        ]
    }
}
FIT_CONFLICT = {"file": ["This activity was imported before with other content."]}
# The body of POST /v1/imports/fit, as the document shows it: bytes, which only a FIT decoder
# tells apart from a FIT file (a damaged or other file answers 422 naming `file`).
FIT_BODY = {
    "required": True,
    "description": "A FIT activity file, as a watch or its app writes it.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


class HealthConnectExportSchema(Schema):
    user_id = fields.String(
        required=True, validate=validate_user_id, metadata={"pattern": USER_ID_PATTERN}
    )
    # Any item, null too, is answered on its own (`rejected` naming why), never by refusing all.
    records = fields.List(
        fields.Raw(allow_none=True),
        load_default=list,
        metadata={"description": "ExerciseSessionRecords, each answered on its own (README)."},
    )
    deletions = fields.List(
        fields.Raw(allow_none=True),
        load_default=list,
        metadata={"description": "Deleted records: {clientRecordId} or {recordId}."},
    )


class FitQuerySchema(OwnerQuerySchema):
    user_id = fields.String(
        required=True, validate=validate_user_id, metadata={"pattern": USER_ID_PATTERN}
    )


class ImportItemSchema(Schema):
    list = fields.String(required=True, metadata={"description": "records, deletions, sessions"})
    index = fields.Integer(required=True)
    record_id = fields.String()
    record_version = fields.Integer()
    status = fields.String(
        required=True, metadata={"enum": ["stored", "duplicate", "superseded", "rejected"]}
    )
    event_id = fields.String(allow_none=True)
    stream_version = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True)
    supersedes = fields.List(fields.String())
    superseded_by = fields.String()
    errors = fields.Dict()


class ImportAnswerSchema(Schema):
    mapping_version = fields.String(required=True)
    results = fields.List(fields.Nested(ImportItemSchema), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


def imports_blueprint(
    record: Record,
    reader: Any,
    writer: Callable[[str | None], Writer],
    on_recorded: Callable[[], None],
    limiter: Limiter,
    refusals: Mapping[Outcome, str],
    max_items: int,
) -> Blueprint:
    blp = Blueprint(
        "imports", __name__, url_prefix="/v1/imports", description="Import wearables' exports"
    )

    def stored(user_id: str, owner: str | None, source_name: str) -> dict[str, Any]:
        user = addressed_user(user_id, owner)
        known = reader.owner(user)
        if known is None or known.erased or not principal().sees(known.tenant, known.grantees):
            return {}  # nothing of theirs to compare with; the append refuses what it must
        stream_reader: StreamReader = reader
        return stored_records(whole_stream(stream_reader, user), source_name)

    def answer(
        items: list[Any],
        known: dict[str, Any],
        owner: str | None,
        conflict: Mapping[str, Any],
        mapping_version: str,
    ) -> dict[str, Any]:
        if len(items) > max_items:
            abort(413, message=f"At most {max_items} items per import.")
        rate_limited(limiter, max(1, len(items)))
        result = import_items(
            supersede(items, known),
            known,
            record,
            writer(owner),
            refusals=refusals,
            conflict=conflict,
        )
        if result.stored_any:
            on_recorded()
        return result.as_json(mapping_version)

    @blp.route("/health-connect", methods=["POST"])
    @requires(blp, EVENTS_WRITE)
    @blp.arguments(HealthConnectExportSchema)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ImportAnswerSchema, description="One result per record and deletion.")
    @blp.alt_response(400, schema=ERROR_SCHEMA, description="The body is not valid JSON.")
    @blp.alt_response(413, schema=ERROR_SCHEMA, description="More items than MAX_BATCH_EVENTS.")
    @blp.alt_response(429, **RATE_LIMITED_RESPONSE)
    def post_health_connect(export: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
        """Import Health Connect ExerciseSessionRecords (one workout.logged each) and deletions
        (one record.retracted each). A record is keyed by its clientRecordId: a higher
        clientRecordVersion supersedes what was stored, a lower one is answered superseded and
        not stored, the same one again is a duplicate."""
        user_id = export["user_id"]
        known = stored(user_id, owner, health_connect.SOURCE_NAME)
        records = health_connect.record_items(export["records"], user_id)
        ahead = with_items(known, supersede(records, known))
        deletions = health_connect.deletion_items(
            export["deletions"], user_id, ahead, datetime.now(UTC)
        )
        return answer(
            [*records, *deletions], known, owner, HC_CONFLICT, health_connect.MAPPING_VERSION
        )

    @blp.route("/fit", methods=["POST"])
    @requires(blp, EVENTS_WRITE)
    @blp.arguments(FitQuerySchema, location="query")
    @blp.doc(requestBody=FIT_BODY)
    @blp.response(200, ImportAnswerSchema, description="One result per session of the file.")
    @blp.alt_response(413, schema=ERROR_SCHEMA, description="Larger than MAX_BODY_BYTES.")
    @blp.alt_response(415, schema=ERROR_SCHEMA, description="Not application/octet-stream.")
    @blp.alt_response(422, schema=ERROR_SCHEMA, description="Not a FIT file, or a damaged one.")
    @blp.alt_response(429, **RATE_LIMITED_RESPONSE)
    def post_fit(query: dict[str, Any]) -> dict[str, Any]:
        """Import a FIT activity file (the body, as application/octet-stream, up to
        MAX_BODY_BYTES): one workout.logged per session, keyed by the file's own ids."""
        if request.mimetype != "application/octet-stream":
            abort(415, message="Send the FIT file as application/octet-stream.")
        try:
            messages = decode_fit(request.get_data(cache=False))
        except UnreadableFitFile as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        user_id, owner = query["user_id"], query.get("owner")
        known = stored(user_id, owner, fit_activity.SOURCE_NAME)
        items = fit_activity.activity_items(messages, user_id)
        return answer(items, known, owner, FIT_CONFLICT, fit_activity.MAPPING_VERSION)

    return blp
