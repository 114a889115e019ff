"""A person's progress page (opened with a signed link, no key) and a clinic's FHIR export."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from backtrack_shared.auth import AUDIT_READ, ROUTINE_READ
from backtrack_shared.auth.http import OwnerQuerySchema, addressed_user, principal, requires
from backtrack_shared.user_key import UserKey
from backtrack_shared.web import ERROR_SCHEMA, Blueprint
from planner.adapters.page_links import DEFAULT_TTL, MAX_TTL, LinkRefused, PageLink, PageLinks
from planner.adapters.projection_store import SqlAlchemyPlannerReader
from planner.domain import derive_routine, progress
from planner.domain.failsafe import fail_safe
from planner.domain.rules_table import RULES_VERSION
from planner.domain.versions import routine_now
from planner.views import charts, fhir_bundle, page_model

_USER_ID = "<user_id:user_id>"
NO_SUCH_USER = "No such user for this client."
NO_LINK = "Open this page with a page link (POST /v1/users/{id}/page-links issues one)."
OTHER_USER = "This page link opens another user's page."
CHART_IDS = ("chart-pain", "chart-sessions", "chart-load", "chart-acwr")
# The page is the user's health data: kept out of caches and other sites' Referer headers,
# and it runs nothing (its charts are drawn on the server).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


_HTML = {"schema": {"type": "string"}}
_ERROR = {"schema": {"$ref": "#/components/schemas/Error"}}


class PageLinkRequestSchema(Schema):
    expires_in_s = fields.Integer(
        load_default=int(DEFAULT_TTL.total_seconds()),
        validate=validate.Range(min=60, max=int(MAX_TTL.total_seconds())),
        metadata={
            "description": "How long the link opens the page: 60 s to 7 days; 24 h unless given."
        },
    )


class PageLinkSchema(Schema):
    user_id = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "The page, with its signed link."})
    expires_at = fields.DateTime(required=True)


class PageQuerySchema(OwnerQuerySchema):
    link = fields.String(metadata={"description": "The signed link a page-links request answered."})
    as_of = fields.AwareDateTime(
        metadata={"description": "The page as the events up to this instant made it."}
    )


class FhirBundleSchema(Schema):
    class Meta:
        unknown = "include"

    resourceType = fields.String(required=True)
    type = fields.String(required=True)
    entry = fields.List(fields.Dict(), required=True)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def page_blueprint(
    reader: SqlAlchemyPlannerReader,
    links: PageLinks,
    clock: Callable[[], datetime] = _utc_now,
) -> Blueprint:
    blp = Blueprint("page", __name__, url_prefix="/v1", description="Progress page and FHIR export")

    def sees(user: UserKey, client_id: str, sees_everyone: bool) -> bool:
        access = reader.access(user)
        if access is None:
            return False
        owner, grantees = access
        return sees_everyone or owner == client_id or client_id in grantees

    def visible_user(user_id: str, owner: str | None) -> UserKey:
        user = addressed_user(user_id, owner)
        access = reader.access(user)
        if access is None or not principal().sees(*access):
            abort(404, message=NO_SUCH_USER)
        return user

    @blp.route(f"/users/{_USER_ID}/page-links", methods=["POST"])
    @requires(blp, ROUTINE_READ)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.arguments(PageLinkRequestSchema)
    @blp.alt_response(201, schema=PageLinkSchema, success=True)
    @blp.alt_response(400, schema=ERROR_SCHEMA, description="The body is not valid JSON.")
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=NO_SUCH_USER)
    def post_page_link(
        body: dict[str, Any], user_id: str, owner: str | None = None
    ) -> tuple[dict[str, Any], int]:
        """A link that opens this user's progress page without a key, until it expires (24 h
        unless `expires_in_s` says less or more, up to 7 days). It opens that user's page only,
        and only while the client that asked for it may still see the user."""
        user = visible_user(user_id, owner)
        expires_at = clock().replace(microsecond=0) + timedelta(seconds=body["expires_in_s"])
        caller = principal()
        token = links.issue(PageLink(user, caller.client_id, caller.sees_every_user, expires_at))
        query = {"link": token, **({"owner": owner} if owner else {})}
        url = url_for("page.get_page", user_id=user_id, _external=True) + "?" + urlencode(query)
        return {"user_id": user_id, "url": url, "expires_at": expires_at.isoformat()}, 201

    @blp.route(f"/users/{_USER_ID}/page")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.doc(
        description="The user's progress page (HTML), opened with a signed page link instead "
        "of a key. A browser (`Accept: text/html`) gets each refusal as a page too.",
        responses={
            "200": {"description": "The page.", "content": {"text/html": _HTML}},
            **{
                str(status): {
                    "description": why,
                    "content": {"application/json": _ERROR, "text/html": _HTML},
                }
                for status, why in (
                    (401, f"{NO_LINK} Or the link is not valid, or it expired."),
                    (403, OTHER_USER),
                    (404, f"{NO_SUCH_USER} Or the link's issuer may no longer see the user."),
                )
            },
        },
    )
    def get_page(query: dict[str, Any], user_id: str) -> Response:
        if not query.get("link"):
            return _refuse(401, NO_LINK)
        try:
            link = links.open(query["link"], clock())
        except LinkRefused as refused:
            return _refuse(401, str(refused))
        user = UserKey(query.get("owner") or link.user.tenant, user_id)
        if user != link.user:
            return _refuse(403, OTHER_USER)
        if not sees(user, link.issued_by, link.issuer_sees_everyone):
            return _refuse(404, NO_SUCH_USER)
        current = reader.current(user)
        if current is None:
            return _refuse(
                404, f"No routine for user {user_id!r}: none of their events is applied yet."
            )
        _, version = current
        events = reader.events(user)
        if "as_of" in query:
            as_of = query["as_of"]
            events = [e for e in events if e.occurred_at <= as_of]
            routine = fail_safe(derive_routine(events, as_of).to_dict(), reader.unapplied(user))
        else:
            as_of = clock()
            routine = routine_now(version, events, as_of)
        shown = page_model.page(
            user_id=user_id,
            routine=routine,
            versions=[v.as_json() for v in reader.history(user)],
            progress=progress(events, as_of),
            events=events,
            as_of=as_of,
        )
        drawn = [
            {
                "id": chart_id,
                "series": series,
                "wide": charts.svg(series, chart_id),
                "narrow": charts.svg(series, chart_id, narrow=True),
            }
            for chart_id, series in zip(CHART_IDS, shown.charts, strict=True)
        ]
        html = render_template(
            "progress_page.html",
            page=shown,
            charts=drawn,
            expires_at=link.expires_at.isoformat(timespec="minutes"),
            rules_version=routine.get("rules_version", RULES_VERSION),
        )
        return Response(html, 200, mimetype="text/html", headers=PAGE_HEADERS)

    @blp.route(f"/users/{_USER_ID}/fhir")
    @requires(blp, AUDIT_READ)
    @blp.arguments(OwnerQuerySchema, location="query", as_kwargs=True)
    @blp.alt_response(
        200, schema=FhirBundleSchema, success=True, content_type="application/fhir+json"
    )
    @blp.alt_response(404, schema=ERROR_SCHEMA, description=NO_SUCH_USER)
    def get_fhir(user_id: str, owner: str | None = None) -> Response:
        """The user's history as a FHIR R4 Bundle: pain reports as Observations (LOINC
        72514-3), each routine version a CarePlan with a ServiceRequest per prescription and a
        Provenance naming its rules and causing events. After the user's erasure their owner
        gets a Bundle with no entries."""
        user = addressed_user(user_id, owner)
        if (
            reader.access(user) is None
            and reader.erased(user)
            and (principal().sees_every_user or user.tenant == principal().client_id)
        ):
            document = fhir_bundle.bundle(user, [], [])
        else:
            user = visible_user(user_id, owner)
            versions = [v.as_json() for v in reader.history(user)]
            document = fhir_bundle.bundle(user, reader.events(user), versions)
        response = Response(mimetype="application/fhir+json")
        response.set_data(_json(document))
        return response

    return blp


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _refuse(status: int, message: str) -> Response:
    """A browser gets the refusal as a page; any other client as the API's JSON error."""
    if request.accept_mimetypes.accept_html:
        html = render_template("page_refused.html", status=status, message=message)
        return Response(html, status, mimetype="text/html", headers=PAGE_HEADERS)
    abort(status, message=message)
    raise AssertionError  # abort raises
