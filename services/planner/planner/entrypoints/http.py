"""The planner's HTTP API: the routine now (or as of an instant), and its history with reasons."""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Flask, Response, request
from flask_smorest import abort

from backtrack_shared.auth import ADMIN, AUDIT_READ, ROUTINE_READ, Registry
from backtrack_shared.auth.http import (
    OwnerQuerySchema,
    addressed_user,
    install_auth,
    principal,
    requires,
)
from backtrack_shared.user_key import UserKey
from backtrack_shared.web import ERROR_SCHEMA, Blueprint, create_api, ops_blueprint
from planner.adapters.page_links import PageLinks
from planner.adapters.projection_store import SqlAlchemyPlannerReader
from planner.domain import derive_routine, progress
from planner.domain.failsafe import fail_safe
from planner.domain.versions import audit, audit_rules, replay_versions, routine_now
from planner.entrypoints import schemas
from planner.entrypoints.conditional import ETAG_HEADERS, IF_NONE_MATCH, answer_conditionally
from planner.entrypoints.page import page_blueprint
from planner.service_layer.catch_up import RebuildFailed
from planner.service_layer.rebuild_job import RebuildJob
from planner.service_layer.single_writer import ProjectionsBusy
from planner.webhooks.http import webhooks_blueprint
from planner.webhooks.store import SqlAlchemyWebhookStore

# Only what an envelope's user_id may be: anything else answers 404 before any database read.
_USER_ID = "<user_id:user_id>"
NOT_A_USER_ID = "The user_id is not one an event may carry."
NO_SUCH_USER = "No such user for this client."
REBUILD_FAILED = "The user could not be rebuilt; their previous projections are kept as they were."


def _utc_now() -> datetime:
    return datetime.now(UTC)


def routine_blueprint(
    reader: SqlAlchemyPlannerReader, clock: Callable[[], datetime] = _utc_now
) -> Blueprint:
    blp = Blueprint("routine", __name__, url_prefix="/v1", description="Routines and their reasons")

    def visible_user(user_id: str, owner: str | None) -> UserKey:
        """The user the request names (the caller's own, or `owner`'s); another client's user
        the caller was not granted answers exactly as a user nobody wrote for (OWASP API1)."""
        user = addressed_user(user_id, owner)
        access = reader.access(user)
        if access is None or not principal().sees(*access):
            abort(404, message=NO_SUCH_USER)
        return user

    @blp.route(f"/users/{_USER_ID}/routine")
    @requires(blp, ROUTINE_READ)
    @blp.arguments(schemas.RoutineQuerySchema, location="query")
    @blp.doc(parameters=[IF_NONE_MATCH])
    @blp.alt_response(200, schema=schemas.RoutineSchema, success=True, headers=ETAG_HEADERS)
    @blp.alt_response(
        304,
        description="Not modified: the routine is the one `If-None-Match` names.",
        headers=ETAG_HEADERS,
    )
    @blp.alt_response(
        404,
        schema=ERROR_SCHEMA,
        description=f"No event of this user has been applied yet. {NOT_A_USER_ID}",
    )
    def get_routine(query: dict[str, Any], user_id: str) -> Response:
        """The current routine: every prescription's dose and its last change, with the rule and
        the events that made it; its advice and weekly plan as of now. With `as_of`, the routine
        the rules give for the events up to then. Answers a strong `ETag`; send it back as
        `If-None-Match` to get `304` while the routine is unchanged."""
        return answer_conditionally(routine(query, user_id), request)

    def routine(query: dict[str, Any], user_id: str) -> dict[str, Any]:
        user = visible_user(user_id, query.get("owner"))
        current = reader.current(user)
        if current is None:
            abort(
                404,
                message=f"No routine for user {user_id!r}: none of their events is applied yet.",
            )
        state, version = current
        if "as_of" in query:
            as_of = query["as_of"]
            history = [e for e in reader.events(user) if e.occurred_at <= as_of]
            # Conservative: an event set aside may have belonged before `as_of` too.
            routine = fail_safe(derive_routine(history, as_of).to_dict(), reader.unapplied(user))
            applied = max((e.position for e in history), default=0)
            return {
                **routine,
                "user_id": user_id,
                "version": None,
                "applied_position": applied,
                "as_of": as_of.isoformat(),
            }
        return {
            **routine_now(version, reader.events(user), clock()),
            "user_id": user_id,
            "version": version.version,
            "applied_position": state.applied_position,
            "as_of": version.as_of.isoformat(),
        }

    @blp.route(f"/users/{_USER_ID}/progress")
    @requires(blp, ROUTINE_READ)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.alt_response(200, schema=schemas.ProgressSchema, success=True)
    @blp.alt_response(
        404,
        schema=ERROR_SCHEMA,
        description=f"No event of this user has been applied yet. {NOT_A_USER_ID}",
    )
    def get_progress(user_id: str, owner: str | None = None) -> dict[str, Any]:
        """Per local week: pain trend, sessions, minutes and training load; the acute:chronic
        workload ratio; progress against each goal."""
        history = reader.events(visible_user(user_id, owner))
        if not history:
            abort(404, message=f"No events of user {user_id!r} are applied yet.")
        as_of = max(event.occurred_at for event in history)
        return {**progress(history, as_of), "user_id": user_id, "as_of": as_of.isoformat()}

    @blp.route(f"/users/{_USER_ID}/routine/history")
    @requires(blp, AUDIT_READ)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.alt_response(200, schema=schemas.RoutineHistorySchema, success=True)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"{NO_SUCH_USER} {NOT_A_USER_ID}")
    def get_routine_history(user_id: str, owner: str | None = None) -> dict[str, Any]:
        """Every routine version, oldest first, with its changes, causes and rules version."""
        versions = reader.history(visible_user(user_id, owner))
        return {"user_id": user_id, "versions": [v.as_json() for v in versions]}

    @blp.route(f"/users/{_USER_ID}/audit")
    @requires(blp, AUDIT_READ)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.alt_response(200, schema=schemas.AuditSchema, success=True)
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=f"{NO_SUCH_USER} {NOT_A_USER_ID}")
    def get_audit(user_id: str, owner: str | None = None) -> dict[str, Any]:
        """Replay the user's events and compare, version by version, with the versions recorded
        when they were applied. The replay uses the rules version that made the recorded
        versions (when one made them all), else today's."""
        user = visible_user(user_id, owner)
        recorded = reader.history(user)
        rules = audit_rules(recorded)
        replayed = replay_versions(reader.events_in_applied_order(user), rules=rules)
        return {"user_id": user_id, **audit(recorded, replayed, rules=rules)}

    return blp


def admin_blueprint(
    rebuild_job: RebuildJob, rebuild_user: Callable[[UserKey], tuple[int, int | None]]
) -> Blueprint:
    blp = Blueprint("admin", __name__, url_prefix="/v1/admin", description="Rebuild projections")

    @blp.route("/rebuild", methods=["POST"])
    @requires(blp, ADMIN)
    @blp.arguments(schemas.RebuildRequestSchema)
    @blp.alt_response(
        200, schema=schemas.UserRebuildSchema, success=True, description="One user rebuilt."
    )
    @blp.alt_response(202, schema=schemas.RebuildStatusSchema, description="Rebuild started.")
    @blp.alt_response(
        409, schema=schemas.RebuildStatusSchema, description="A full rebuild is running."
    )
    @blp.alt_response(400, schema=ERROR_SCHEMA, description="The body is not valid JSON.")
    @blp.alt_response(
        502,
        schema=ERROR_SCHEMA,
        description=f"{REBUILD_FAILED} traininglog did not answer, or its events could not be "
        "stored: the message says which.",
    )
    def post_rebuild(request: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Rebuild the projections from traininglog's feed: `{"user_id": ...}` one user now,
        all or nothing; `{"all": true}` everyone in the background (the consumer pauses
        meanwhile; poll GET for progress)."""
        if "user_id" in request:
            try:
                user = addressed_user(request["user_id"], request.get("owner"))
                read, version = rebuild_user(user)
            except ProjectionsBusy:
                return rebuild_job.status(), 409  # a full rebuild holds the projections
            except requests.RequestException as err:
                abort(502, message=f"{REBUILD_FAILED} traininglog's feed: {str(err)[:300]}")
            except RebuildFailed as err:
                abort(502, message=f"{REBUILD_FAILED} {err}")
            return {
                "user_id": request["user_id"],
                "events_read": read,
                "routine_version": version,
            }, 200
        started = rebuild_job.start()
        return rebuild_job.status(), 202 if started else 409

    @blp.route("/rebuild")
    @requires(blp, ADMIN)
    @blp.alt_response(200, schema=schemas.RebuildStatusSchema, success=True)
    def get_rebuild() -> dict[str, Any]:
        """The progress of the last full rebuild."""
        return rebuild_job.status()

    return blp


def create_app(
    *,
    reader: SqlAlchemyPlannerReader,
    readiness_checks: dict[str, Callable[[], bool]],
    rebuild_job: RebuildJob,
    rebuild_user: Callable[[UserKey], tuple[int, int | None]],
    registry: Callable[[], Registry],
    readiness_details: Callable[[], dict[str, Any]] | None = None,
    readiness_degradations: Callable[[], dict[str, str]] | None = None,
    webhooks: SqlAlchemyWebhookStore,
    page_links: PageLinks | None = None,
) -> Flask:
    app = Flask("planner")
    api = create_api(
        app,
        title="planner",
        version="1",
        description="Backtrack's planner: the progressed routine for each user, and why.",
    )
    install_auth(app, api, registry)
    # The lag goes in /readyz's body, never in its status: a planner behind is still ready.
    api.register_blueprint(
        ops_blueprint(readiness_checks, readiness_details, readiness_degradations)
    )
    api.register_blueprint(routine_blueprint(reader))
    api.register_blueprint(admin_blueprint(rebuild_job, rebuild_user))
    api.register_blueprint(webhooks_blueprint(webhooks))
    # Without a secret of its own (tests), links last as long as this process.
    api.register_blueprint(
        page_blueprint(reader, page_links or PageLinks(secrets.token_urlsafe(48)))
    )
    # What the schema's own check says, for the document: exactly one of the two.
    api.spec.components.schemas["RebuildRequest"]["oneOf"] = [
        {"required": ["user_id"]},
        {"required": ["all"]},
    ]
    return app
