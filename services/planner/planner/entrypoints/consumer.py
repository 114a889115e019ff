"""Translates broker messages into event applications; holds no logic of its own.

Only traininglog's broker user may announce an event: RabbitMQ validates the `user_id` property
against the publishing connection's user, so a message without it, or with another user's, was
not published by traininglog. Such a message is acknowledged without being applied, counted and
logged: whoever else can write to the events exchange changes nothing. The planner's own user is
trusted on its requeue exchange alone (dead letters put back by `planner dead-letters requeue`).
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from marshmallow import ValidationError

from backtrack_shared.broker.consumer import BatchHandler
from backtrack_shared.broker.messages import IncomingMessage, PoisonMessage, TransientFailure
from backtrack_shared.contracts import StoredEnvelopeSchema
from backtrack_shared.db import is_transient_database_error
from planner.metrics import APPLY_SECONDS, EVENTS_DEAD_LETTERED, EVENTS_UNTRUSTED
from planner.service_layer.apply import ApplyResult

log = structlog.get_logger(__name__)
_schema = StoredEnvelopeSchema()


@dataclass(frozen=True)
class Publishers:
    """Who may publish the messages the planner applies."""

    events: str  # traininglog's broker user
    requeues: str = ""  # the planner's own broker user, on the requeue exchange only
    requeue_exchange: str = ""

    def trusted(self, message: IncomingMessage) -> bool:
        if message.user_id is None:
            return False
        if message.user_id == self.events:
            return True
        return bool(self.requeues) and (
            message.user_id == self.requeues and message.exchange == self.requeue_exchange
        )


def drop_untrusted(messages: Sequence[IncomingMessage]) -> None:
    """Count and log messages acknowledged without being applied."""
    for message in messages:
        log.warning(
            "consumer.untrusted_event_dropped",
            message_id=message.message_id,
            published_by=message.user_id,
            exchange=message.exchange,
            routing_key=message.routing_key,
        )
    EVENTS_UNTRUSTED.inc(len(messages))


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
    publishers: Publishers,
) -> Callable[[IncomingMessage], None]:
    def handle(message: IncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(event_id=message.message_id)
        if not publishers.trusted(message):
            drop_untrusted([message])
            return  # acknowledged, never applied
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


def batch_handler(
    apply_all: Callable[[list[dict[str, Any]]], Sequence[ApplyResult]],
    publishers: Publishers,
) -> BatchHandler:
    """Applies every message that is a stored envelope from a trusted publisher with one call of
    `apply_all`; refuses the other envelopes as poison, for the consumer to dead-letter once the
    batch is applied, and drops (acknowledges) those of untrusted publishers."""

    def handle(messages: Sequence[IncomingMessage]) -> list[PoisonMessage | None]:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            event_count=len(messages),
            first_event_id=messages[0].message_id,
            last_event_id=messages[-1].message_id,
        )
        envelopes: list[dict[str, Any]] = []
        refusals: list[PoisonMessage | None] = []
        untrusted: list[IncomingMessage] = []
        for message in messages:
            if not publishers.trusted(message):
                untrusted.append(message)
                refusals.append(None)  # acknowledged, never applied
                continue
            try:
                envelopes.append(read_envelope(message.body))
                refusals.append(None)
            except ValueError as err:
                refusals.append(PoisonMessage(f"not a stored event envelope: {err}"))
        if envelopes:
            started = time.perf_counter()
            try:
                apply_all(envelopes)
            except Exception as err:
                if is_transient_database_error(err):  # held and retried, as one by one
                    raise TransientFailure(str(err)) from err
                raise  # the consumer handles the messages again one by one
            elapsed = time.perf_counter() - started
            for _ in envelopes:  # each event waited for the whole batch's commit
                APPLY_SECONDS.observe(elapsed)
        # Counted once the batch is applied: a batch that fails is handled again one by one.
        EVENTS_DEAD_LETTERED.inc(len(messages) - len(envelopes) - len(untrusted))
        drop_untrusted(untrusted)
        return refusals

    return handle
