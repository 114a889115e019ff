"""traininglog's HTTP API: thin handlers that validate, call the service layer and shape answers."""

from collections.abc import Callable
from typing import Any

import structlog
from flask import Flask
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from backtrack_shared.contracts import NewEventSchema
from backtrack_shared.contracts.registry import LATEST_VERSIONS, payload_versions
from backtrack_shared.web import (
    DATABASE_UNAVAILABLE,
    ERROR_SCHEMA,
    RETRY_AFTER_S,
    create_api,
    ops_blueprint,
)
from traininglog.config import Settings
from traininglog.domain.append import Outcome
from traininglog.entrypoints import schemas
from traininglog.metrics import EVENTS_REJECTED
from traininglog.service_layer.ingest import record_events

CONFLICT_REASON = "This event_id was already stored with a different body."
MALFORMED = "The body is not valid JSON."
TOO_LARGE = "The body is larger than MAX_BODY_BYTES."
# Documented on every write: the client retries the same request after Retry-After seconds.
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


def events_blueprint(
    settings: Settings,
    unit_of_work: Callable[[], Any],
    reader: Any,
    on_recorded: Callable[[], None],
) -> Blueprint:
    blp = Blueprint("events", __name__, url_prefix="/v1", description="Record and read events")

    @blp.route("/events", methods=["POST"])
    @blp.arguments(NewEventSchema, description="One event envelope.")
    @blp.response(201, schemas.ReceiptSchema, description="Stored.")
    @blp.alt_response(
        200, schema=schemas.ReceiptSchema, description="Already stored: the same answer."
    )
    @blp.alt_response(
        409, schema=ERROR_SCHEMA, description="The event_id is taken by a different body."
    )
    @blp.alt_response(400, schema=ERROR_SCHEMA, description=MALFORMED)
    @blp.alt_response(413, schema=ERROR_SCHEMA, description=TOO_LARGE)
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def post_event(envelope: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Record one event. Retrying with the same event_id is safe."""
        structlog.contextvars.bind_contextvars(event_id=envelope["event_id"])
        (receipt,) = record_events(unit_of_work, [envelope])
        if receipt.outcome is Outcome.CONFLICT:
            abort(409, message=CONFLICT_REASON, errors={"event_id": [CONFLICT_REASON]})
        if receipt.outcome is Outcome.STORED:
            on_recorded()
            return receipt.as_response(), 201
        return receipt.as_response(), 200

    @blp.route("/events/batch", methods=["POST"])
    @blp.arguments(schemas.BatchRequestSchema)
    @blp.response(200, schemas.BatchResponseSchema, description="One result per item, in order.")
    @blp.alt_response(400, schema=ERROR_SCHEMA, description=MALFORMED)
    @blp.alt_response(
        413,
        schema=ERROR_SCHEMA,
        description=f"{TOO_LARGE} Or more events than MAX_BATCH_EVENTS: nothing is stored.",
    )
    @blp.alt_response(503, **UNAVAILABLE_RESPONSE)
    def post_batch(batch: dict[str, Any]) -> dict[str, Any]:
        """Record many events (up to MAX_BATCH_EVENTS, default 500); each item is answered on its own.

        A rejected or conflicting item never keeps the valid ones from being stored.
        """
        items = batch["events"]
        if not items:
            abort(422, errors={"json": {"events": ["Send at least one event."]}})
        if len(items) > settings.max_batch_events:
            abort(
                413,
                message=f"At most {settings.max_batch_events} events per batch.",
                errors={
                    "json": {"events": [f"At most {settings.max_batch_events} events per batch."]}
                },
            )
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, dict[str, Any]]] = []
        loader = NewEventSchema()
        for index, item in enumerate(items):
            try:
                valid.append((index, loader.load(item)))
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
        receipts = record_events(unit_of_work, [envelope for _, envelope in valid]) if valid else []
        for (index, _), receipt in zip(valid, receipts, strict=True):
            result: dict[str, Any] = {
                "index": index,
                "status": receipt.outcome.value,
                **receipt.as_response(),
            }
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
    @blp.arguments(schemas.StreamQuerySchema, location="query")
    # Pages go out as the store built them: the schema documents them, no second serialization.
    @blp.alt_response(200, schema=schemas.StreamPageSchema, success=True)
    @blp.alt_response(
        404, schema=ERROR_SCHEMA, description="The user_id is not one an event may carry."
    )
    def get_stream(query: dict[str, int], user_id: str) -> dict[str, Any]:
        """A user's events in stream order, a page at a time."""
        page = reader.stream(user_id, query["after_version"], query["limit"])
        full = len(page) == query["limit"]
        return {
            "user_id": user_id,
            "events": page,
            "next_after_version": page[-1]["stream_version"] if page and full else None,
        }

    @blp.route("/feed")
    @blp.arguments(schemas.FeedQuerySchema, location="query")
    @blp.alt_response(200, schema=schemas.FeedPageSchema, success=True)
    def get_feed(query: dict[str, int]) -> dict[str, Any]:
        """Every event after a global position, in position order: catch-up and replay."""
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
    on_recorded: Callable[[], None] = lambda: None,
) -> Flask:
    app = Flask("traininglog")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    api = create_api(
        app,
        title="traininglog",
        version="1",
        description="Backtrack's logging service: the append-only store of rehab events.",
    )
    api.register_blueprint(ops_blueprint(readiness_checks))
    api.register_blueprint(events_blueprint(settings, unit_of_work, reader, on_recorded))
    for event_type, version, schema in payload_versions():
        name = "".join(part.title() for part in event_type.replace(".", "_").split("_"))
        latest = version == LATEST_VERSIONS[event_type]
        api.spec.components.schema(f"{name}{'' if latest else f'V{version}'}Payload", schema=schema)
    return app
