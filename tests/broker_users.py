"""Real broker users on this machine's RabbitMQ for a test, made by the project's own code
(rabbitmqctl, as root), named uniquely and deleted afterwards."""

import contextlib
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from backtrack_shared.broker.setup import BrokerSetupError, Rabbitmqctl
from backtrack_shared.broker.topology import Topology
from backtrack_shared.broker.users import BrokerUser


def url_for(amqp_url: str, user: str, password: str) -> str:
    """`amqp_url` with another user and password: same host, port and vhost."""
    parts = urlsplit(amqp_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def require_rabbitmqctl(amqp_url: str) -> Rabbitmqctl:
    """rabbitmqctl reaches the broker of `amqp_url` only on this machine, as root."""
    if urlsplit(amqp_url).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip("the broker is not this machine's: rabbitmqctl cannot make users on it")
    if shutil.which("rabbitmqctl") is None or os.geteuid() != 0:
        pytest.skip("broker users need rabbitmqctl, run as root")
    return Rabbitmqctl()


def unique_name(role: str) -> str:
    return f"test-{role}-{uuid.uuid4().hex[:10]}"


@dataclass
class BrokerUsers:
    """Users put for one test; each is deleted by the context that made them."""

    amqp_url: str
    topology: Topology
    ctl: Rabbitmqctl
    names: list[str] = field(default_factory=list)

    def put(self, user: BrokerUser) -> str:
        """Put the user with a fresh password; return its URL."""
        password = secrets.token_urlsafe(16)
        self.names.append(user.name)
        self.ctl.put_user(user, password)
        return url_for(self.amqp_url, user.name, password)


@contextlib.contextmanager
def broker_users(amqp_url: str, topology: Topology) -> Iterator[BrokerUsers]:
    users = BrokerUsers(amqp_url, topology, require_rabbitmqctl(amqp_url))
    try:
        yield users
    finally:
        for name in users.names:
            delete_soon(users.ctl, name)


def delete_soon(ctl: Rabbitmqctl, name: str, timeout_s: float = 120) -> None:
    """Delete the user, waiting out a broker that is restarting (the machine is shared)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ctl.delete_user(name)
            return
        except BrokerSetupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
