"""traininglog's HTTP API: thin handlers that validate, call the service layer and shape answers."""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from flask import Flask, Response
from flask_smorest import abort
from marshmallow import ValidationError

from backtrack_shared.auth import ADMIN, AUDIT_READ, CLINICAL_WRITE, EVENTS_WRITE, Registry
from backtrack_shared.auth.http import (
    RATE_LIMITED_RESPONSE,
    OwnerQuerySchema,
    addressed_user,
    install_auth,
    known_client,
    principal,
    rate_limited,
    requires,
)
from backtrack_shared.auth.rate_limit import Limiter, RateLimiter
from backtrack_shared.auth.shared_rate_limit import SharedRateLimiter
from backtrack_shared.contracts import NewEventSchema
from backtrack_shared.contracts.registry import payload_versions
from backtrack_shared.web import (
    DATABASE_UNAVAILABLE,
    ERROR_SCHEMA,
    RETRY_AFTER_S,
    Blueprint,
    create_api,
    ops_blueprint,
    retry_later,
)
from traininglog.config import Settings
from traininglog.domain import clinical
from traininglog.domain.append import Outcome, Writer
from traininglog.entrypoints import schemas
from traininglog.entrypoints.event_documents import document_new_events, payload_component
from traininglog.entrypoints.imports import imports_blueprint
from traininglog.metrics import EVENTS_REJECTED
from traininglog.service_layer.group_commit import Stopped
from traininglog.service_layer.ingest import Receipt, record_events
from traininglog.service_layer.users import UnknownUser, change_access, erase_user

CONFLICT_REASON = "This event_id was already stored with a different body."
NO_SUCH_USER = "No such user for this client."
ERASED_REASON = "This user was erased: nothing more is recorded for them."
MALFORMED = "The body is not valid JSON."
TOO_LARGE = "The body is larger than MAX_BODY_BYTES."
# Documented on every write: the client retries the same request after Retry-After seconds.
# A batch item refused for its user answers as rejected, naming the field and the reason.
BATCH_REFUSALS = {Outcome.NOT_FOUND: NO_SUCH_USER, Outcome.ERASED: ERASED_REASON}
UNAVAILABLE_RESPONSE = {
    "schema": ERROR_SCHEMA,
    "description": DATABASE_UNAVAILABLE,
    "headers": {
        "Retry-After": {
            "description": f"Seconds to wait before retrying ({RETRY_AFTER_S}).",
            "schema": {"type": "integer"},
        }
    },
}


def writer(owner: str | None = None) -> Writer:
    """The calling client as a writer for the users of `owner` (None: its own)."""
    caller = principal()
    return Writer(caller.client_id, every_user=caller.sees_every_user, owner=owner)


NEW_EVENT = NewEventSchema()
OWNER_QUERY = OwnerQuerySchema()
Record = Callable[[Sequence[dict[str, Any]], Writer], list[Receipt]]


def events_blueprint(
    settings: Settings,
    unit_of_work: Callable[[], Any],
    record: Record,
    reader: Any,
    on_recorded: Callable[[], None],
    limiter: Limiter,
) -> Blueprint:
    blp = Blueprint("events", __name__, url_prefix="/v1", description="Record and read events")

    def refused_as_not_clinical(envelope: dict[str, Any]) -> clinical.Refusal | None:
        """Errors for an event only a clinical key may send, when the caller's key may not."""
        if principal().may(CLINICAL_WRITE):
            return None
        return clinical.clinical_refusal(envelope)

    @blp.route("/events", methods=["POST"])
    @requires(blp, EVENTS_WRITE, also_forbidden=clinical.REFUSAL)
    # Instances, not classes: webargs would build a schema (and its nested ones) per request.
    @blp.arguments(NEW_EVENT, description="One event envelope.")
    @blp.arguments(OWNER_QUERY, location="query", as_kwargs=True)
    @blp.response(201, schemas.ReceiptSchema, description="Stored.")
    @blp.alt_response(
        200, schema=schemas.ReceiptSchema, description="Already stored: the same answer."
    )
    @blp.alt_response(
        409, schema=ERROR_SCHEMA, description="The event_id is taken by a different body."
    )
    @blp.alt_response(400, schema=ERROR_SCHEMA, description=MALFORMED)
    @blp.alt_response(413, schema=ERROR_SCHEMA, description=TOO_LARGE)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=NO_SUCH_USER)
    @blp.alt_response(410, schema=ERROR_SCHEMA, description=ERASED_REASON)
    @blp.alt_response(429, **RATE_LIMITED_RESPONSE)
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def post_event(
        envelope: dict[str, Any], owner: str | None = None
    ) -> tuple[dict[str, Any], int]:
        """Record one event. Retrying with the same event_id is safe."""
        structlog.contextvars.bind_contextvars(event_id=envelope["event_id"])
        not_clinical = refused_as_not_clinical(envelope)
        if not_clinical is not None:
            EVENTS_REJECTED.inc()
            abort(403, message=not_clinical.reason, errors=not_clinical.errors)
        rate_limited(limiter, 1)
        (receipt,) = record([envelope], writer(owner))
        if receipt.outcome is Outcome.NOT_FOUND:
            abort(404, message=NO_SUCH_USER, errors={"user_id": [NO_SUCH_USER]})
        if receipt.outcome is Outcome.ERASED:
            abort(410, message=ERASED_REASON, errors={"user_id": [ERASED_REASON]})
        if receipt.outcome is Outcome.CONFLICT:
            abort(409, message=CONFLICT_REASON, errors={"event_id": [CONFLICT_REASON]})
        if receipt.outcome is Outcome.STORED:
            on_recorded()
            return receipt.as_response(), 201
        return receipt.as_response(), 200

    @blp.route("/events/batch", methods=["POST"])
    @requires(blp, EVENTS_WRITE)
    @blp.arguments(schemas.BatchRequestSchema)
    @blp.arguments(OWNER_QUERY, location="query", as_kwargs=True)
    @blp.response(200, schemas.BatchResponseSchema, description="One result per item, in order.")
    @blp.alt_response(400, schema=ERROR_SCHEMA, description=MALFORMED)
    @blp.alt_response(
        413,
        schema=ERROR_SCHEMA,
        description=f"{TOO_LARGE} Or more events than MAX_BATCH_EVENTS: nothing is stored.",
    )
    @blp.alt_response(429, **RATE_LIMITED_RESPONSE)
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def post_batch(batch: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
        """Record many events (up to MAX_BATCH_EVENTS, default 500); each item is answered on its own.

        A rejected or conflicting item never keeps the valid ones from being stored. A clinical
        event (clearance.recorded, or source.kind clinician) from a key without the scope
        clinical:write is rejected, naming the scope.
        """
        items = batch["events"]
        if len(items) > settings.max_batch_events:
            abort(
                413,
                message=f"At most {settings.max_batch_events} events per batch.",
                errors={
                    "json": {"events": [f"At most {settings.max_batch_events} events per batch."]}
                },
            )
        rate_limited(limiter, len(items))
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            try:
                loaded = NEW_EVENT.load(item)
                not_clinical = refused_as_not_clinical(loaded)
                if not_clinical is not None:
                    raise ValidationError(not_clinical.errors)
                valid.append((index, loaded))
            except ValidationError as err:
                EVENTS_REJECTED.inc()
                event_id = item.get("event_id") if isinstance(item, dict) else None
                event_id = event_id if isinstance(event_id, str) else None
                results[index] = {
                    "index": index,
                    "event_id": event_id,
                    "status": "rejected",
                    "errors": err.messages,
                }
        envelopes = [envelope for _, envelope in valid]
        receipts = record(envelopes, writer(owner)) if valid else []
        for (index, _), receipt in zip(valid, receipts, strict=True):
            refused = BATCH_REFUSALS.get(receipt.outcome)
            result: dict[str, Any] = {
                "index": index,
                "status": "rejected" if refused else receipt.outcome.value,
                **receipt.as_response(),
            }
            if refused:
                result["errors"] = {"user_id": [refused]}
            if receipt.outcome is Outcome.CONFLICT:
                result["errors"] = {"event_id": [CONFLICT_REASON]}
            results[index] = result
        if any(r.outcome is Outcome.STORED for r in receipts):
            on_recorded()
        counts = dict.fromkeys(("stored", "duplicate", "conflict", "rejected"), 0)
        for answered in results:
            assert answered is not None  # every index is either rejected or has a receipt
            counts[answered["status"]] += 1
        return {"results": results, "counts": counts}

    @blp.route("/users/<user_id:user_id>/events")
    @requires(blp, AUDIT_READ)
    @blp.arguments(schemas.StreamQuerySchema, location="query")
    # Pages go out as the store built them: the schema documents them, no second serialization.
    @blp.alt_response(200, schema=schemas.StreamPageSchema, success=True)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"{NO_SUCH_USER} Or erased.")
    def get_stream(query: dict[str, int], user_id: str) -> dict[str, Any]:
        """A user's events in stream order, a page at a time."""
        user = addressed_user(user_id, query.get("owner"))
        owner = reader.owner(user)
        if owner is None or owner.erased or not principal().sees(owner.tenant, owner.grantees):
            abort(404, message=NO_SUCH_USER)
        page = reader.stream(user, query["after_version"], query["limit"])
        full = len(page) == query["limit"]
        return {
            "user_id": user_id,
            "events": page,
            "next_after_version": page[-1]["stream_version"] if page and full else None,
        }

    @blp.route("/users/<user_id:user_id>", methods=["DELETE"])
    @requires(blp, ADMIN)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, schemas.ReceiptSchema, description="Erased: the erasure's marker event.")
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=NO_SUCH_USER)
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def delete_user(user_id: str, owner: str | None = None) -> dict[str, Any]:
        """Forget a user: their key is deleted, so their events can no longer be read from the
        store, the feed or any backup, and the planner drops their routine. The log keeps a
        `user.erased` marker (no health data). Asking again answers the same marker."""
        try:
            receipt = erase_user(unit_of_work, addressed_user(user_id, owner), writer())
        except UnknownUser:
            abort(404, message=NO_SUCH_USER)
        on_recorded()
        return receipt.as_response()

    def access(user_id: str, client_id: str, granted: bool, owner: str | None) -> dict[str, Any]:
        if not known_client(client_id):
            abort(404, message=f"No client {client_id!r} in the clients file.")
        try:
            receipt = change_access(
                unit_of_work,
                addressed_user(user_id, owner),
                client_id,
                granted=granted,
                writer=writer(),
            )
        except UnknownUser:
            abort(404, message=NO_SUCH_USER)
        if receipt is not None:
            on_recorded()
        return {
            "user_id": user_id,
            "client_id": client_id,
            "granted": granted,
            "event_id": receipt.event_id if receipt else None,
            "position": receipt.position if receipt else None,
        }

    @blp.route("/users/<user_id:user_id>/grants/<string:client_id>", methods=["PUT"])
    @requires(blp, ADMIN)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, schemas.AccessSchema)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"{NO_SUCH_USER} Or no such client.")
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def put_grant(user_id: str, client_id: str, owner: str | None = None) -> dict[str, Any]:
        """Let another client application see (and write for) this user, on both services, as
        far as its key's scopes go; an `access.granted` event records it in the user's stream.
        The granted client names the owner (`?owner=`) to reach the user."""
        return access(user_id, client_id, granted=True, owner=owner)

    @blp.route("/users/<user_id:user_id>/grants/<string:client_id>", methods=["DELETE"])
    @requires(blp, ADMIN)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, schemas.AccessSchema)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"{NO_SUCH_USER} Or no such client.")
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def delete_grant(user_id: str, client_id: str, owner: str | None = None) -> dict[str, Any]:
        """Take back a client's access to this user (`access.revoked`)."""
        return access(user_id, client_id, granted=False, owner=owner)

    @blp.route("/feed")
    @requires(blp, ADMIN)
    @blp.arguments(schemas.FeedQuerySchema, location="query")
    @blp.alt_response(200, schema=schemas.FeedPageSchema, success=True)
    def get_feed(query: dict[str, int]) -> dict[str, Any]:
        """Every event after a global position, in position order: catch-up and replay. Across
        every tenant, so for operators and the planner only (admin); each event's `tenant` is
        its owner. Positions skip the events of erased users."""
        page = reader.feed(query["after"], query["limit"])
        return {
            "events": page,
            "next_after": page[-1]["position"] if page else query["after"],
            "head": reader.head(),
        }

    return blp


def create_app(
    settings: Settings,
    *,
    unit_of_work: Callable[[], Any],
    reader: Any,
    readiness_checks: dict[str, Callable[[], bool]],
    registry: Callable[[], Registry],
    on_recorded: Callable[[], None] = lambda: None,
    record: Record | None = None,
) -> Flask:
    """`record` appends a request's envelopes (the service passes its GroupCommit's); by
    default each request is its own transaction."""
    if record is None:
        record = functools.partial(record_events, unit_of_work)
    app = Flask("traininglog")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    api = create_api(
        app,
        title="traininglog",
        version="1",
        description="Backtrack's logging service: the append-only store of rehab events.",
    )
    install_auth(app, api, registry)

    @app.errorhandler(Stopped)
    def _stopping(err: Stopped) -> tuple[Response, int]:
        return retry_later(str(err))

    limiter: Limiter = (
        SharedRateLimiter(
            settings.rate_limit_storage_url,
            settings.rate_limit_events_per_s,
            settings.rate_limit_burst,
            namespace=settings.broker_namespace,
        )
        if settings.rate_limit_storage_url
        else RateLimiter(settings.rate_limit_events_per_s, settings.rate_limit_burst)
    )
    api.register_blueprint(ops_blueprint(readiness_checks))
    api.register_blueprint(
        events_blueprint(settings, unit_of_work, record, reader, on_recorded, limiter)
    )
    api.register_blueprint(
        imports_blueprint(
            record,
            reader,
            writer,
            on_recorded,
            limiter,
            BATCH_REFUSALS,
            settings.max_batch_events,
        )
    )
    for event_type, version, schema in payload_versions():
        api.spec.components.schema(payload_component(event_type, version), schema=schema)
    document_new_events(api.spec)
    return app
