"""Translates broker messages into event applications; holds no logic of its own."""

import json
from collections.abc import Callable
from typing import Any

import structlog
from marshmallow import ValidationError

from backtrack_shared.contracts import StoredEnvelopeSchema
from backtrack_shared.db import is_transient_database_error
from backtrack_shared.rabbit import IncomingMessage, PoisonMessage, TransientFailure
from planner.metrics import APPLY_SECONDS, EVENTS_DEAD_LETTERED
from planner.service_layer.apply import ApplyResult

log = structlog.get_logger(__name__)
_schema = StoredEnvelopeSchema()


def read_envelope(body: bytes) -> dict[str, Any]:
    """The stored envelope a message carries, validated; raise ValueError if it is not one."""
    try:
        document = json.loads(body)
        _schema.load(document)  # validates, payload included; the raw document is what we keep
    except (ValueError, ValidationError) as err:
        raise ValueError(str(err)) from err
    return document


def message_handler(
    apply: Callable[[dict[str, Any]], ApplyResult],
) -> Callable[[IncomingMessage], None]:
    def handle(message: IncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(event_id=message.message_id)
        try:
            envelope = read_envelope(message.body)
        except ValueError as err:
            EVENTS_DEAD_LETTERED.inc()
            raise PoisonMessage(f"not a stored event envelope: {err}") from err
        structlog.contextvars.bind_contextvars(user_id=envelope["user_id"])
        try:
            with APPLY_SECONDS.time():
                apply(envelope)
        except Exception as err:
            # The database not answering is no fault of the message: the consumer holds it and
            # retries instead of spending its deliveries (see PikaConsumer).
            if is_transient_database_error(err):
                raise TransientFailure(str(err)) from err
            raise

    return handle
