"""Where the real broker and database come from.

In order: AMQP_URL / DATABASE_URL from the environment; else, with a Docker engine, containers
started by testcontainers; else RabbitMQ and PostgreSQL on loopback (as on the project's machine)
when they answer. With none of these the tests that need them fail, saying why.
"""

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from backtrack_shared.broker.topology import Topology
from tests.support.resources import delete_topology

LOOPBACK_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
LOOPBACK_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _docker_engine() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    if os.environ.get("AMQP_URL"):
        yield os.environ["AMQP_URL"]
    elif _docker_engine():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as broker:
            host, port = broker.get_container_host_ip(), broker.get_exposed_port(5672)
            yield f"amqp://guest:guest@{host}:{port}/%2F"
    elif _answers("127.0.0.1", 5672):
        yield LOOPBACK_AMQP_URL
    else:
        pytest.fail("No RabbitMQ: set AMQP_URL, run a Docker engine, or start RabbitMQ on 5672.")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        yield os.environ["DATABASE_URL"]
    elif _docker_engine():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="psycopg") as database:
            yield database.get_connection_url()
    elif _answers("127.0.0.1", 5432):
        yield LOOPBACK_DATABASE_URL
    else:
        pytest.fail("No PostgreSQL: set DATABASE_URL, run a Docker engine, or start it on 5432.")


@pytest.fixture
def topology(amqp_url: str) -> Iterator[Topology]:
    """A namespace of exchanges and queues of this test's own, deleted afterwards. One
    partition: every event of the test lands in one queue, as the tests of one consumer need."""
    names = Topology(namespace=f"test-{uuid.uuid4().hex[:12]}", partitions=1)
    yield names
    delete_topology(amqp_url, names)
