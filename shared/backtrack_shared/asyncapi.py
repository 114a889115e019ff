"""The broker messages as an AsyncAPI 3 document (AMQP 0-9-1 bindings): both exchanges, the
planner's partition queues and the webhook dispatcher's queue, a tenant's own queues, their
routing keys, headers and bodies, each envelope field mapped to its CloudEvents attribute.

Built from the same marshmallow schemas that validate the events and the same topology the
services declare, so it cannot drift from them; both services serve it at /asyncapi.json.
"""

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from backtrack_shared.broker.topology import PARTITION_KEY_HEADER, Topology
from backtrack_shared.contracts.envelope import USER_ID_PATTERN, StoredEnvelopeSchema
from backtrack_shared.contracts.registry import (
    EVENT_TYPES,
    LATEST_VERSIONS,
    every_payload_version,
)

ASYNCAPI_PATH = "/asyncapi.json"
AMQP_BINDING_VERSION = "0.3.0"

# Where each CloudEvents (1.0) context attribute is found in a message.
CLOUDEVENTS_EVENT = {
    "specversion": "1.0 (implied)",
    "id": "$message.payload#/event_id (also the AMQP message_id)",
    "source": "traininglog, with $message.payload#/source naming the client's app or device",
    "type": "$message.payload#/type (also the routing key and the AMQP type)",
    "time": "$message.payload#/occurred_at",
    "subject": "$message.payload#/user_id, of the tenant $message.payload#/tenant",
    "dataschema": "the *Payload schema of $message.payload#/type and #/schema_version",
    "datacontenttype": "application/json",
    "data": "$message.payload#/payload",
}
CLOUDEVENTS_ROUTINE = {
    "specversion": "1.0 (implied)",
    "id": "AMQP message_id: tenant:user_id:routine:version",
    "source": "planner",
    "type": "$message.payload#/type (routine.updated)",
    "time": "$message.payload#/as_of",
    "subject": "$message.payload#/user_id, of the tenant $message.payload#/tenant",
    "dataschema": "#/components/schemas/RoutineUpdated",
    "datacontenttype": "application/json",
    "data": "the message body",
}


def _payload_name(event_type: str, version: int) -> str:
    name = "".join(part.title() for part in event_type.replace(".", "_").split("_"))
    return f"{name}{'' if version == LATEST_VERSIONS[event_type] else f'V{version}'}Payload"


@functools.cache
def _schemas() -> dict[str, Any]:
    spec = APISpec("messages", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("StoredEnvelope", schema=StoredEnvelopeSchema)
    named: set[type] = set()
    for event_type, version, schema in every_payload_version():
        if schema in named:  # access.granted and access.revoked share theirs
            continue
        named.add(schema)
        spec.components.schema(_payload_name(event_type, version), schema=schema)
    schemas: dict[str, Any] = spec.to_dict()["components"]["schemas"]
    schemas["StoredEnvelope"]["properties"]["user_id"]["pattern"] = USER_ID_PATTERN
    schemas["RoutineUpdated"] = {
        "type": "object",
        "description": "A new routine version of one user, as the planner recorded it.",
        "properties": {
            "type": {"type": "string", "enum": ["routine.updated"]},
            "user_id": {"type": "string", "pattern": USER_ID_PATTERN},
            "tenant": {"type": "string", "description": "The client whose user this is."},
            "version": {"type": "integer", "minimum": 1},
            "rules_version": {"type": "string"},
            "as_of": {"type": "string", "format": "date-time"},
            "applied_position": {"type": "integer", "minimum": 0},
            "caused_by": {"type": "array", "items": {"type": "string"}},
            "changes": {"type": "array", "items": {"type": "object"}},
            "routine": {
                "type": "object",
                "description": "The routine as GET /v1/users/{id}/routine answers it.",
            },
        },
        "required": [
            "type",
            "user_id",
            "tenant",
            "version",
            "rules_version",
            "as_of",
            "applied_position",
            "caused_by",
            "changes",
            "routine",
        ],
    }
    return schemas


def _exchange(name: str, *, kind: str = "topic") -> dict[str, Any]:
    return {
        "amqp": {
            "is": "routingKey",
            "exchange": {"name": name, "type": kind, "durable": True, "autoDelete": False},
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _queue(name: str) -> dict[str, Any]:
    return {
        "amqp": {
            "is": "queue",
            "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False},
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _message_bindings() -> dict[str, Any]:
    return {
        "amqp": {
            "contentEncoding": "utf-8",
            "messageType": "the routing key",
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def document(topology: Topology) -> dict[str, Any]:
    t = topology
    event = {"$ref": "#/components/messages/Event"}
    routine = {"$ref": "#/components/messages/RoutineUpdated"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Backtrack's broker messages",
            "version": "1",
            "description": "traininglog publishes every stored event to the events exchange "
            "(its routing key the event type) through its outbox; the planner consumes them from "
            "its partition queues and publishes every new routine version to the routines "
            "exchange as routine.updated.<tenant>. Every message carries its publisher's broker "
            "user in the AMQP user_id property, which RabbitMQ checks.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "vhost /; names carry the namespace (BROKER_NAMESPACE).",
            }
        },
        "channels": {
            "events": {
                "address": "{eventType}",
                "description": f"The topic exchange {t.events_exchange}: one stored event each.",
                "parameters": {"eventType": {"enum": list(EVENT_TYPES)}},
                "messages": {"event": event},
                "bindings": _exchange(t.events_exchange),
            },
            "plannerPartition": {
                "address": t.partition_queue(0).removesuffix("0") + "{partition}",
                "description": f"Quorum queues fed by the consistent-hash exchange "
                f"{t.partition_exchange} (bound to the events exchange with #), hashing the "
                f"{PARTITION_KEY_HEADER} header: each user's events in one queue, in order.",
                "parameters": {"partition": {"description": "0 to PLANNER_PARTITIONS - 1"}},
                "messages": {"event": event},
                "bindings": _queue(t.partition_queue(0).removesuffix("0") + "{partition}"),
            },
            "routines": {
                "address": "routine.updated.{tenant}",
                "description": f"The topic exchange {t.routines_exchange}: one routine version "
                "each, keyed by its user's tenant.",
                "parameters": {"tenant": {"description": "The owning client's id."}},
                "messages": {"routineUpdated": routine},
                "bindings": _exchange(t.routines_exchange),
            },
            "tenantQueue": {
                "address": f"{t.subscriber_queue_prefix('{tenant}')}{{name}}",
                "description": "A tenant's own queue, bound to the routines exchange with "
                "routine.updated.<tenant> alone (backtrack-broker tenant).",
                "parameters": {"tenant": {}, "name": {}},
                "messages": {"routineUpdated": routine},
                "bindings": _queue(f"{t.subscriber_queue_prefix('{tenant}')}{{name}}"),
            },
            "webhookQueue": {
                "address": t.webhook_queue,
                "description": "The webhook dispatcher's queue, bound with routine.updated.*.",
                "messages": {"routineUpdated": routine},
                "bindings": _queue(t.webhook_queue),
            },
        },
        "operations": {
            "publishEvent": {
                "action": "send",
                "channel": {"$ref": "#/channels/events"},
                "summary": "traininglog's outbox relay, with publisher confirms.",
                "messages": [{"$ref": "#/channels/events/messages/event"}],
            },
            "applyEvents": {
                "action": "receive",
                "channel": {"$ref": "#/channels/plannerPartition"},
                "summary": "The planner applies each event once (deduplicated by event_id).",
                "messages": [{"$ref": "#/channels/plannerPartition/messages/event"}],
            },
            "publishRoutineUpdated": {
                "action": "send",
                "channel": {"$ref": "#/channels/routines"},
                "summary": "The planner's outbox relay.",
                "messages": [{"$ref": "#/channels/routines/messages/routineUpdated"}],
            },
            "receiveRoutineUpdated": {
                "action": "receive",
                "channel": {"$ref": "#/channels/tenantQueue"},
                "summary": "A tenant's app hears of its own users' routines.",
                "messages": [{"$ref": "#/channels/tenantQueue/messages/routineUpdated"}],
            },
            "dispatchWebhooks": {
                "action": "receive",
                "channel": {"$ref": "#/channels/webhookQueue"},
                "summary": "The webhook dispatcher turns each into signed notifications.",
                "messages": [{"$ref": "#/channels/webhookQueue/messages/routineUpdated"}],
            },
        },
        "components": {
            "schemas": _schemas(),
            "messages": {
                "Event": {
                    "name": "event",
                    "title": "A stored event",
                    "contentType": "application/json",
                    "description": "CloudEvents attributes, where found: see x-cloudevents.",
                    "headers": {
                        "type": "object",
                        "properties": {
                            "user_id": {"type": "string"},
                            "tenant": {"type": "string"},
                            "stream_version": {"type": "integer"},
                            "position": {"type": "integer"},
                            PARTITION_KEY_HEADER: {
                                "type": "string",
                                "description": "tenant/user_id: what the partitions hash.",
                            },
                        },
                        "required": [
                            "user_id",
                            "tenant",
                            "stream_version",
                            "position",
                            PARTITION_KEY_HEADER,
                        ],
                    },
                    "payload": {"$ref": "#/components/schemas/StoredEnvelope"},
                    "correlationId": {"location": "$message.payload#/event_id"},
                    "bindings": _message_bindings(),
                    "x-cloudevents": CLOUDEVENTS_EVENT,
                },
                "RoutineUpdated": {
                    "name": "routineUpdated",
                    "title": "A new routine version",
                    "contentType": "application/json",
                    "description": "CloudEvents attributes, where found: see x-cloudevents.",
                    "headers": {
                        "type": "object",
                        "properties": {"user_id": {"type": "string"}, "tenant": {"type": "string"}},
                        "required": ["user_id", "tenant"],
                    },
                    "payload": {"$ref": "#/components/schemas/RoutineUpdated"},
                    "bindings": _message_bindings(),
                    "x-cloudevents": CLOUDEVENTS_ROUTINE,
                },
            },
        },
    }
