"""Reading what a queue holds, in a test."""

import pika


def drain(amqp_url: str, queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    messages = []
    try:
        channel = connection.channel()
        # basic.get is refused on a single-active-consumer quorum queue: consume until quiet.
        for method, properties, body in channel.consume(
            queue, auto_ack=True, inactivity_timeout=0.5
        ):
            if method is None:
                return messages
            messages.append((properties, body))
        return messages
    finally:
        connection.close()
