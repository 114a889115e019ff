"""API keys on Flask: `requires(blp, scope)` guards a view and documents what it answers.

Every view of the API is guarded but the operational ones (health, readiness, metrics, the
OpenAPI document), and a test walks each service's URL map to keep it so. No key, or a key
that is not live: 401. A live key without the scope: 403. A user the client may not see: the
view answers 404, exactly as for a user nobody wrote for (OWASP API1).
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import structlog
from flask import Flask, current_app, g, request
from flask_smorest import Api, Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields, validate

from backtrack_shared.auth.keys import CLIENT_ID_PATTERN, Principal, Registry, authenticate
from backtrack_shared.auth.rate_limit import Limiter, retry_after_header
from backtrack_shared.user_key import UserKey

SCHEME = "apiKey"
EXTENSION = "backtrack_auth"
MISSING = "Send an API key: `Authorization: Bearer bt_...`."
NOT_LIVE = "This API key is not valid, or it was revoked."
RATE_LIMITED = "Too many events from this client: retry after Retry-After seconds."

View = TypeVar("View", bound=Callable[..., Any])


def install_auth(app: Flask, api: Api, registry: Callable[[], Registry]) -> None:
    """Authenticate requests against `registry()` (read per request: keys change live)."""
    app.extensions[EXTENSION] = registry
    api.spec.components.security_scheme(
        SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `backtrack-clients`, as `Authorization: Bearer bt_...`.",
        },
    )


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value if scheme.lower() == "bearer" else None


def requires(blp: Blueprint, scope: str, *, also_forbidden: str = "") -> Callable[[View], View]:
    """Guard a view with a key holding `scope`; document its 401 and 403 answers (with
    `also_forbidden`: what else the view answers 403 for)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            registry: Callable[[], Registry] = current_app.extensions[EXTENSION]
            principal = authenticate(registry(), _presented_key())
            if principal is None:
                abort(401, message=MISSING if _presented_key() is None else NOT_LIVE)
            assert principal is not None
            structlog.contextvars.bind_contextvars(client_id=principal.client_id)
            if not principal.may(scope):
                abort(403, message=f"This API key lacks the scope {scope}.")
            g.principal = principal
            return view(*args, **kwargs)

        documented = blp.doc(security=[{SCHEME: []}])(guarded)
        documented = blp.alt_response(401, schema=ErrorSchema, description=MISSING)(documented)
        documented = blp.alt_response(
            403,
            schema=ErrorSchema,
            description=f"The key lacks the scope {scope}. {also_forbidden}".strip(),
        )(documented)
        return cast(View, documented)

    return decorate


def known_client(client_id: str) -> bool:
    """Whether the clients file names this client application."""
    registry: Callable[[], Registry] = current_app.extensions[EXTENSION]
    return client_id in registry().clients


def principal() -> Principal:
    """The client of the request being answered (inside a view guarded by `requires`)."""
    return cast(Principal, g.principal)


OWNER_DESCRIPTION = (
    "The client whose user this is, for a client an operator granted access to another "
    "client's user, and for operators; by default the calling client: a user id is each "
    "client's own."
)


class OwnerQuerySchema(Schema):
    """`?owner=`: whose user a path's user id (or a write's user ids) names."""

    owner = fields.String(
        validate=validate.Regexp(CLIENT_ID_PATTERN), metadata={"description": OWNER_DESCRIPTION}
    )


def addressed_user(user_id: str, owner: str | None) -> UserKey:
    """The user a request names: `user_id` of `owner`'s, or of the calling client's own."""
    return UserKey(owner or principal().client_id, user_id)


def rate_limited(limiter: Limiter, cost: int) -> None:
    """Spend `cost` events of the calling client's limit, or answer 429 with Retry-After."""
    wait_s = limiter.take(principal().client_id, cost)
    if wait_s > 0:
        abort(429, message=RATE_LIMITED, headers={"Retry-After": retry_after_header(wait_s)})


RATE_LIMITED_RESPONSE = {
    "schema": ErrorSchema,
    "description": RATE_LIMITED,
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the same request again.",
            "schema": {"type": "integer"},
        }
    },
}
