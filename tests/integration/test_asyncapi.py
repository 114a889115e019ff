"""The AsyncAPI document describes the messages really on the broker: an event traininglog's
relay published and a routine update the planner's relay published, taken off real queues,
validate against the document's schemas (body and headers)."""

import json
from typing import Any

import jsonschema_rs
import pika
import pytest
from sqlalchemy import Engine

from backtrack_shared.asyncapi import ASYNCAPI_PATH, document
from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from planner.adapters.projection_store import SqlAlchemyRoutineOutbox
from tests.factories import baseline, new_user_id, pain
from tests.support.apps import apply_all, planner_app, traininglog_app
from tests.support.queues import drain
from tests.support.recording import record
from tests.support.stores import keys_for
from traininglog.adapters.outbox import SqlAlchemyEventOutbox

pytestmark = pytest.mark.integration


def validator(doc: dict[str, Any], message: str, part: str) -> jsonschema_rs.Draft7Validator:
    schema = doc["components"]["messages"][message][part]
    return jsonschema_rs.Draft7Validator({**doc, **schema})


def relay_all(relay: OutboxRelay) -> None:
    while relay.relay_once():
        pass


def test_the_messages_on_the_broker_are_the_ones_the_document_describes(
    postgres_engine: Engine, amqp_url: str, topology: Topology
) -> None:
    doc = document(topology)
    user = new_user_id()
    record(postgres_engine, baseline(user), pain(user, score=3))
    events = PikaConfirmedPublisher(amqp_url, topology, connection_name="test-asyncapi")
    try:
        relay_all(
            OutboxRelay(
                SqlAlchemyEventOutbox(postgres_engine, keys_for(postgres_engine)),
                events,
                topology.events_exchange,
            )
        )
    finally:
        events.close()
    mine = [
        (properties, body)
        for properties, body in drain(amqp_url, topology.partition_queue(0))
        if properties.headers["user_id"] == user
    ]
    assert len(mine) == 2
    for properties, body in mine:
        validator(doc, "Event", "payload").validate(json.loads(body))
        validator(doc, "Event", "headers").validate(properties.headers)
        assert properties.type in doc["channels"]["events"]["parameters"]["eventType"]["enum"]

    # The planner applies them and publishes the routine, to a tenant's queue.
    queue = f"{topology.subscriber_queue_prefix('acme')}asyncapi"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, topology.routines_exchange, routing_key="routine.updated.acme")
    connection.close()
    apply_all(postgres_engine, [json.loads(body) for _, body in mine])
    routines = PikaConfirmedPublisher(
        amqp_url, topology, connection_name="test-asyncapi-routines", mandatory=False
    )
    try:
        relay_all(
            OutboxRelay(
                SqlAlchemyRoutineOutbox(postgres_engine), routines, topology.routines_exchange
            )
        )
    finally:
        routines.close()
    updates = [
        (properties, body)
        for properties, body in drain(amqp_url, queue)
        if properties.headers["user_id"] == user
    ]
    assert updates
    for properties, body in updates:
        validator(doc, "RoutineUpdated", "payload").validate(json.loads(body))
        validator(doc, "RoutineUpdated", "headers").validate(properties.headers)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    connection.channel().queue_delete(queue)
    connection.close()


def test_each_service_serves_the_document_without_a_key(postgres_engine: Engine) -> None:
    for app in (traininglog_app(postgres_engine), planner_app(postgres_engine)):
        answer = app.test_client().get(ASYNCAPI_PATH)
        assert answer.status_code == 200
        assert answer.get_json()["asyncapi"] == "3.0.0"
