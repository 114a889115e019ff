"""Conditional GETs of a routine: a strong ETag, and 304 when the client already holds it.

The tag starts with the routine version (`"7.…"`, or `"as-of.…"` for an `as_of` view) and ends
with a digest of the answer: the same version read later may carry other advice and weekly plan
(computed at the instant asked) or a higher `applied_position` (an event that changed nothing),
and a strong tag promises the same bytes.
"""

import hashlib
import json
from typing import Any

from flask import Request, Response, jsonify

# Every cache, the browser's too, asks again before reusing it; shared caches never keep it.
CACHE_CONTROL = "no-cache, private"

ETAG_HEADERS = {
    "ETag": {
        "description": "Strong: the routine version, then a digest of this answer.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": CACHE_CONTROL, "schema": {"type": "string"}},
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "An ETag this client holds: while it is current the answer is 304.",
    "schema": {"type": "string"},
}


def entity_tag(routine: dict[str, Any]) -> str:
    """The routine's tag, without quotes."""
    text = json.dumps(routine, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    version = routine.get("version")
    return f"{'as-of' if version is None else version}.{digest}"


def answer_conditionally(routine: dict[str, Any], request: Request) -> Response:
    """200 with the routine and its tag, or 304 when `If-None-Match` names it (weakly, as
    RFC 9110 compares for If-None-Match, or `*`)."""
    tag = entity_tag(routine)
    if request.if_none_match.contains_weak(tag):
        response = Response(status=304)
    else:
        response = jsonify(routine)
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
