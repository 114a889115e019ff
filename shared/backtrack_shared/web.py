"""What every Backtrack HTTP service has: an OpenAPI document built from the validating schemas,
JSON errors, health and readiness probes, Prometheus metrics and a log line per request."""

import time
from collections.abc import Callable, Mapping
from typing import Any

import flask_smorest
import structlog
from flask import Flask, Response, g, jsonify, request, send_from_directory
from flask_smorest import Api, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from swagger_ui_bundle import swagger_ui_path
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from backtrack_shared import asyncapi, strict_json
from backtrack_shared.broker.topology import Topology
from backtrack_shared.contracts.envelope import USER_ID_PATTERN, USER_ID_REGEX
from backtrack_shared.contracts.limits import ALLOWED_CONTROL_CHARACTERS, MAX_JSON_DEPTH
from backtrack_shared.db import is_transient_database_error

log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

ReadinessCheck = Callable[[], bool]
ReadinessDetails = Callable[[], Mapping[str, Any]]
# What is wrong though the service can serve: name -> what, for an operator to act on.
Degradations = Callable[[], Mapping[str, str]]

# What a client is told when the database does not answer: nothing was stored, try again.
RETRY_AFTER_S = 2
DATABASE_UNAVAILABLE = (
    "The database does not answer. Send the same request again after Retry-After seconds: it "
    "is idempotent by event_id, so an event stored meanwhile answers as a duplicate."
)

# The body of every error answer (4xx and 5xx): {"code", "status", "message"?, "errors"?}. Pass it
# as `schema=` to `alt_response` when documenting an error status.
ERROR_SCHEMA = ErrorSchema


def _control_character_ranges() -> str:
    """The control characters the strict reader refuses in text (all of C0 and C1 but those
    limits.py allows), as ranges of a regular expression class: `\\u0000-\\u0008...`."""
    refused = [
        code
        for code in (*range(0x20), *range(0x7F, 0xA0))
        if chr(code) not in ALLOWED_CONTROL_CHARACTERS
    ]
    ranges: list[list[int]] = []
    for code in refused:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{first:04X}" if first == last else f"\\u{first:04X}-\\u{last:04X}"
        for first, last in ranges
    )


# Text as the strict reader takes it, in a pattern both ECMA-262 and Python read alike: every
# plain string of both documents carries it.
TEXT_PATTERN = f"^[^{_control_character_ranges()}]*$"


def _text_pattern(_converter: Any, _field: fields.Field, ret: dict[str, Any], **_: Any) -> dict:
    """An apispec attribute function: a string that is neither a choice, a format nor a
    pattern of its own is text, and says that it holds no control character."""
    if ret.get("type") == "string" and not {"enum", "format", "pattern"} & set(ret):
        return {"pattern": TEXT_PATTERN}
    return {}


# Documented on every operation that takes a JSON body.
REFUSED_JSON = (
    f"The body is JSON beyond what is taken: nested deeper than {MAX_JSON_DEPTH} levels, an "
    "integer beyond 64 bits, a key given twice, or a control character in text. `errors.json` "
    "names where."
)


class StrictJsonParser(FlaskParser):
    """Reads request bodies with backtrack_shared.strict_json: 400 for what is not JSON, 422
    naming the place for JSON beyond the bounds."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return strict_json.loads(req.get_data(cache=True))
        except strict_json.RefusedJson as err:
            abort(422, message=REFUSED_JSON, errors={"json": {err.path or "_body": [err.reason]}})


class Blueprint(flask_smorest.Blueprint):
    """Every blueprint of both services: bodies are read by the one strict parser."""

    ARGUMENTS_PARSER = StrictJsonParser()


class UserIdConverter(BaseConverter):
    """A `<user_id:...>` path segment: what an envelope's user_id may be. Anything else matches no
    route and answers 404, so it never reaches a database (a NUL byte would break PostgreSQL)."""

    regex = USER_ID_PATTERN.removeprefix("^").removesuffix("$")

    def to_python(self, value: str) -> str:
        # The route's regex may match before a final newline, as Python's `$` does: match whole.
        if not USER_ID_REGEX.match(value):
            abort(404, message="No such user for this client.")
        return value


def _user_id_parameter_schema(_: BaseConverter) -> dict[str, object]:
    return {"type": "string", "pattern": USER_ID_PATTERN}


class _Api(Api):
    # No catch-all "default" response: every status an operation answers is documented on it with
    # its body, so a client (and the contract tests) can tell a documented answer from a surprise.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException) -> Any:
        """The JSON error, keeping the headers the exception carries itself (a 405's `Allow`,
        as RFC 9110 requires); those given to `abort(headers=...)` win."""
        payload, status, headers = super().handle_http_exception(error)
        own = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return payload, status, {**own, **(headers or {})}


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(
        required=True,
        metadata={
            "description": "ok; degraded (ready, but something needs an operator: see "
            "`degraded`); or unavailable (503)"
        },
    )
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Each dependency: ok or unavailable; each degradation: degraded."},
    )
    degraded = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "What is degraded, and what it means."},
    )
    details = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        metadata={
            "description": "What the service reports beside its checks (the planner: its lag). "
            "Informative only: it never makes the service unready."
        },
    )


def create_api(app: Flask, *, title: str, version: str, description: str) -> Api:
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # The browsable page, its script and styles served by the service itself (no CDN).
        OPENAPI_SWAGGER_UI_PATH=DOCS_PATH.removeprefix("/"),
        OPENAPI_SWAGGER_UI_URL=f"{DOCS_ASSETS_PATH}/",
        OPENAPI_SWAGGER_UI_CONFIG={"persistAuthorization": False},
        API_SPEC_OPTIONS={"info": {"description": description}},
    )
    app.url_map.converters["user_id"] = UserIdConverter
    _serve_docs_assets(app)
    # The broker's messages, described as the default namespace names them.
    asyncapi_document = asyncapi.document(Topology())
    app.add_url_rule(asyncapi.ASYNCAPI_PATH, "asyncapi_json", lambda: jsonify(asyncapi_document))
    api = _Api(app)
    api.ma_plugin.converter.add_attribute_function(_text_pattern)
    api.register_converter(UserIdConverter, _user_id_parameter_schema)
    _install_request_logging(app)
    _install_database_unavailable_handler(app)
    return api


DOCS_PATH = "/docs"
DOCS_ASSETS_PATH = "/docs/assets"
# What the Swagger UI page loads; nothing else of the bundled distribution is served.
_DOCS_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
)


def _serve_docs_assets(app: Flask) -> None:
    def docs_asset(name: str) -> Response:
        if name not in _DOCS_ASSETS:
            abort(404, message="No such file of the API's documentation page.")
        return send_from_directory(str(swagger_ui_path), name, max_age=86400)

    app.add_url_rule(f"{DOCS_ASSETS_PATH}/<string:name>", "docs_asset", docs_asset)


def _install_database_unavailable_handler(app: Flask) -> None:
    """A request that finds the database down answers 503 with Retry-After, not a 500: its
    transaction was rolled back, and the same request may simply be sent again."""

    @app.errorhandler(SQLAlchemyError)
    def _database_error(err: SQLAlchemyError) -> tuple[Response, int]:
        if not is_transient_database_error(err):
            raise err
        log.warning("http.database_unavailable", path=request.path, error=str(err)[:500])
        return retry_later(DATABASE_UNAVAILABLE)


def retry_later(message: str) -> tuple[Response, int]:
    """503 with Retry-After: nothing was done, and the same request may be sent again."""
    response = jsonify({"code": 503, "status": "Service Unavailable", "message": message})
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response, 503


def _install_request_logging(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        structlog.contextvars.clear_contextvars()
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, endpoint).observe(elapsed)
        log.info(
            "http.request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round(elapsed * 1000, 2),
        )
        return response


def ops_blueprint(
    checks: Mapping[str, ReadinessCheck],
    details: ReadinessDetails | None = None,
    degradations: Degradations | None = None,
) -> Blueprint:
    """/healthz (the process answers), /readyz (its dependencies answer, and with `details`
    whatever else the service reports there, such as its lag; with `degradations`, what is
    wrong though it still serves: the status is then `degraded`, never `ok`) and /metrics."""
    blp = Blueprint("ops", __name__, description="Health, readiness and metrics")

    @blp.route("/healthz")
    @blp.response(200, HealthSchema)
    def healthz() -> dict[str, str]:
        """Liveness: the process is up and answering."""
        return {"status": "ok"}

    @blp.route("/readyz")
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, schema=ReadinessSchema, description="A dependency does not answer")
    def readyz() -> tuple[dict[str, object], int]:
        """Readiness: the database and the broker answer."""
        results = {name: "ok" if check() else "unavailable" for name, check in checks.items()}
        ready = all(result == "ok" for result in results.values())
        body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": results}
        if details is not None:
            body["details"] = dict(details())
        degraded = dict(degradations()) if degradations is not None else {}
        if degraded:
            results.update(dict.fromkeys(degraded, "degraded"))
            body["degraded"] = degraded
            if ready:
                body["status"] = "degraded"
        return body, 200 if ready else 503

    @blp.route("/metrics")
    @blp.doc(responses={200: {"description": "Prometheus text exposition format"}})
    def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return blp
