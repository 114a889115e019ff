"""Webhook endpoints over HTTP: each client registers its own, hears of its own users alone,
and lists and redelivers its own dead letters."""

import re
from typing import Any

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates

from backtrack_shared.auth import ROUTINE_READ
from backtrack_shared.auth.http import principal, requires
from backtrack_shared.web import ERROR_SCHEMA, Blueprint
from planner.webhooks.policy import EVENT_TYPES, URL_PATTERN, refused_url
from planner.webhooks.store import DEAD, SqlAlchemyWebhookStore

ENDPOINT_ID = r"[a-z0-9][a-z0-9-]{0,62}"
NO_SUCH_ENDPOINT = "No such webhook endpoint for this client."


class EndpointRequestSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(max=2048),
        metadata={
            "pattern": URL_PATTERN,
            "description": "Where notifications are POSTed: https://, or http:// on loopback.",
            "example": "https://app.example/backtrack/webhooks",
        },
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": ["routine.updated"]},
    )

    @validates("url")
    def _a_url_we_send_to(self, value: str, **_: object) -> None:
        refusal = refused_url(value)
        if refusal:
            raise ValidationError(refusal)


class EndpointSchema(Schema):
    endpoint_id = fields.String(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    verified = fields.Boolean(
        required=True,
        metadata={
            "description": "Whether it answered the verification challenge: nothing is "
            "delivered to it before."
        },
    )
    secret = fields.String(
        metadata={
            "description": "whsec_...: given once, when the endpoint is created. Verify "
            "each notification's webhook-signature with it."
        }
    )


class EndpointListSchema(Schema):
    endpoints = fields.List(fields.Nested(EndpointSchema), required=True)


class DeliverySchema(Schema):
    delivery_id = fields.String(required=True, metadata={"description": "The webhook-id."})
    endpoint_id = fields.String(required=True)
    user_id = fields.String(required=True)
    event_type = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "pending, delivered or dead"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    body = fields.Dict(required=True, metadata={"description": "The notification as sent."})


class RedeliverySchema(Schema):
    delivery_id = fields.String(required=True)
    state = fields.String(required=True)


class DeadLettersSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeliverySchema), required=True)


def webhooks_blueprint(store: SqlAlchemyWebhookStore) -> Blueprint:
    blp = Blueprint(
        "webhooks",
        __name__,
        url_prefix="/v1/webhooks",
        description="Signed webhooks (Standard Webhooks) for routine.updated",
    )

    @blp.route("/endpoints/<string:endpoint_id>", methods=["PUT"])
    @requires(blp, ROUTINE_READ)
    @blp.arguments(EndpointRequestSchema)
    @blp.response(201, EndpointSchema, description="Created: the answer holds its secret, once.")
    @blp.alt_response(
        200, schema=EndpointSchema, description="Changed (a new URL is verified again)."
    )
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"Not an endpoint id: {ENDPOINT_ID}")
    @blp.alt_response(400, schema=ERROR_SCHEMA, description="The body is not valid JSON.")
    def put_endpoint(request: dict[str, Any], endpoint_id: str) -> tuple[dict[str, Any], int]:
        """Register (or change) an endpoint of the calling client. It hears of the client's own
        users alone. Before the first delivery it gets a signed `webhook.verification` whose
        `data.challenge` it must echo back as `{"challenge": ...}`."""
        if not re.fullmatch(ENDPOINT_ID, endpoint_id):
            abort(404, message=f"Not an endpoint id: {ENDPOINT_ID}")
        endpoint, secret = store.put_endpoint(
            principal().client_id, endpoint_id, request["url"], request["event_types"]
        )
        if secret is None:
            return endpoint.as_json(), 200
        return {**endpoint.as_json(), "secret": secret}, 201

    @blp.route("/endpoints")
    @requires(blp, ROUTINE_READ)
    @blp.response(200, EndpointListSchema)
    def list_endpoints() -> dict[str, Any]:
        """The calling client's endpoints (without their secrets)."""
        return {"endpoints": [e.as_json() for e in store.endpoints_of(principal().client_id)]}

    @blp.route("/endpoints/<string:endpoint_id>", methods=["DELETE"])
    @requires(blp, ROUTINE_READ)
    @blp.response(204, description="Deleted, with its deliveries.")
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=NO_SUCH_ENDPOINT)
    def delete_endpoint(endpoint_id: str) -> tuple[str, int]:
        """Stop notifying an endpoint."""
        if not store.delete_endpoint(principal().client_id, endpoint_id):
            abort(404, message=NO_SUCH_ENDPOINT)
        return "", 204

    @blp.route("/dead-letters")
    @requires(blp, ROUTINE_READ)
    @blp.response(200, DeadLettersSchema)
    def dead_letters() -> dict[str, Any]:
        """Notifications to the calling client's endpoints that failed every try (8, over about
        21 hours: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h and 12 h apart)."""
        return {"dead_letters": [d.as_json() for d in store.of_client(principal().client_id, DEAD)]}

    @blp.route("/dead-letters/<uuid:delivery_id>/redeliver", methods=["POST"])
    @requires(blp, ROUTINE_READ)
    @blp.response(200, RedeliverySchema, description="Pending again: tried now, tries afresh.")
    @blp.alt_response(404, schema=ERROR_SCHEMA, description="No such dead letter of this client.")
    def redeliver(delivery_id: Any) -> dict[str, Any]:
        """Try a dead letter again, with the same webhook-id."""
        if not store.redeliver(principal().client_id, str(delivery_id)):
            abort(404, message="No such dead letter of this client.")
        return {"delivery_id": str(delivery_id), "state": "pending"}

    return blp
