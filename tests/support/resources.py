"""A PostgreSQL database or a broker namespace of the caller's own, removed afterwards."""

import contextlib
import uuid
from collections.abc import Iterator

import pika
import psycopg
from sqlalchemy.engine import make_url

from backtrack_shared.broker.topology import Topology


def delete_topology(amqp_url: str, topology: Topology) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        topology.delete(connection.channel())
    finally:
        connection.close()


@contextlib.contextmanager
def own_database(postgres_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of the caller's own beside `postgres_url`'s, dropped afterwards."""
    url = make_url(postgres_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
