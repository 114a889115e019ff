"""What both OpenAPI documents say in words that no OpenAPI 3.0 schema can, told to schemathesis
so that the requests it makes as valid are valid. `st run` loads this module through the
repository's schemathesis.toml (`hooks`); tests/integration/test_openapi_fuzz.py imports it.

Only valid (positive) requests are touched: invalid ones are made as schemathesis likes."""

import json
from datetime import UTC, datetime
from typing import Any

import schemathesis
from marshmallow import ValidationError

from backtrack_shared import strict_json
from backtrack_shared.contracts import plausible
from backtrack_shared.contracts.limits import MAX_FUTURE_SKEW


def _valid(case: Any) -> bool:
    return case.meta is not None and bool(case.meta.generation.mode.is_positive)


@schemathesis.hook
def filter_case(_context: Any, case: Any) -> bool:
    """Every operation that reads JSON documents a 422 for a body the strict reader refuses
    (backtrack_shared.web.REFUSED_JSON), and every string a schema names carries TEXT_PATTERN.
    A free-form value (a batch item, a Health Connect record) is any JSON, though: OpenAPI 3.0
    cannot say that its keys hold no control character nor its integers more than 64 bits. A
    valid request with such a body is not made."""
    if not _valid(case) or not isinstance(case.body, dict | list):
        return True
    try:
        strict_json.loads(json.dumps(case.body))
    except (strict_json.RefusedJson, ValueError):
        return False
    return _minutes_fit_the_session(case.body)


def _minutes_fit_the_session(body: Any) -> bool:
    """A workout's sets add up to no more minutes than the workout's own, as the document of
    its payload says: a sum no schema states."""
    payload = body.get("payload") if isinstance(body, dict) else None
    if body.get("type") != "workout.logged" or not isinstance(payload, dict):
        return True
    try:
        plausible.minutes_fit_the_session(None, payload)
    except ValidationError:
        return False
    return True


@schemathesis.hook
def map_case(_context: Any, case: Any) -> Any:
    """An event's `occurred_at` lies at most 24 hours (MAX_FUTURE_SKEW) ahead of the service's
    clock, as its description says: a pattern cannot follow a clock. A valid request's later
    instant becomes the present."""
    if not _valid(case) or not isinstance(case.body, dict):
        return case
    try:
        when = datetime.fromisoformat(case.body["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return case
    now = datetime.now(UTC)
    if when.tzinfo is not None and when - now > MAX_FUTURE_SKEW:
        case.body = {**case.body, "occurred_at": now.isoformat()}
    return case
