"""Putting broker users on a RabbitMQ (rabbitmqctl, as root on the broker's machine), and the
RabbitMQ definitions file the compose stack loads at boot (users with password hashes)."""

import base64
import copy
import hashlib
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pika

from backtrack_shared.broker.topology import Topology
from backtrack_shared.broker.users import BrokerUser


class BrokerSetupError(RuntimeError):
    pass


# What rabbitmqctl says while the node or its rabbit app is down (booting, restarting).
_BROKER_NOT_RUNNING = ("app to be running", "unable to perform an operation on node")


@dataclass(frozen=True)
class Rabbitmqctl:
    """The broker's own CLI. Synchronous, unlike `import_definitions`: a user exists, with its
    permissions, when a call returns. Passwords go through stdin, never the command line."""

    command: tuple[str, ...] = ("rabbitmqctl",)
    # How long to wait for a broker that is starting or restarting before giving up.
    wait_for_broker_s: float = 90.0

    def _run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        deadline = time.monotonic() + self.wait_for_broker_s
        while True:
            done = subprocess.run(
                [*self.command, "-q", *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            said = done.stderr + done.stdout
            starting = any(sign in said for sign in _BROKER_NOT_RUNNING)
            if done.returncode == 0 or not starting or time.monotonic() > deadline:
                return done
            time.sleep(2)

    def _check(self, *args: str, stdin: str | None = None) -> None:
        done = self._run(*args, stdin=stdin)
        if done.returncode != 0:
            raise BrokerSetupError(f"rabbitmqctl {args[0]}: {(done.stderr or done.stdout).strip()}")

    def put_user(self, user: BrokerUser, password: str) -> None:
        """Create the user or set its password, then its permissions exactly (stale topic
        permissions removed), and no tags: it is no administrator."""
        if not password:
            raise BrokerSetupError(f"no password for broker user {user.name}")
        added = self._run("add_user", user.name, stdin=password)
        if added.returncode != 0:
            if "already exists" not in (added.stderr + added.stdout):
                raise BrokerSetupError(f"rabbitmqctl add_user: {added.stderr.strip()}")
            # An existing user: its password, no tags, and none of its former topic permissions.
            self._check("change_password", user.name, stdin=password)
            self._check("set_user_tags", user.name)
            self._check("clear_topic_permissions", "-p", user.vhost, user.name)
        p = user.permissions
        self._check("set_permissions", "-p", user.vhost, user.name, p.configure, p.write, p.read)
        for topic in user.topic_permissions:
            self._check(
                "set_topic_permissions",
                "-p",
                user.vhost,
                user.name,
                topic.exchange,
                topic.write,
                topic.read,
            )

    def delete_user(self, name: str) -> bool:
        """Delete the user (and its permissions); False if there was none."""
        done = self._run("delete_user", name)
        if done.returncode == 0:
            return True
        if "does not exist" in (done.stderr + done.stdout):
            return False
        raise BrokerSetupError(f"rabbitmqctl delete_user: {done.stderr.strip()}")


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def password_matches(password: str, hashed: str) -> bool:
    raw = base64.b64decode(hashed)
    return password_hash(password, raw[:4]) == hashed


class _Recorder:
    """Stands in for a channel: what Topology.declare asks the broker for, as definitions."""

    def __init__(self, vhost: str) -> None:
        self.vhost = vhost
        self.exchanges: list[dict[str, Any]] = []
        self.queues: list[dict[str, Any]] = []
        self.bindings: list[dict[str, Any]] = []

    def exchange_declare(
        self,
        exchange: str,
        exchange_type: str = "direct",
        durable: bool = False,
        arguments: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.exchanges.append(
            {
                "name": exchange,
                "vhost": self.vhost,
                "type": str(exchange_type),
                "durable": durable,
                "auto_delete": False,
                "internal": False,
                "arguments": dict(arguments or {}),
            }
        )

    def exchange_bind(self, destination: str, source: str, routing_key: str = "", **_: Any) -> None:
        self.bindings.append(
            {
                "source": source,
                "vhost": self.vhost,
                "destination": destination,
                "destination_type": "exchange",
                "routing_key": routing_key,
                "arguments": {},
            }
        )

    def queue_declare(
        self,
        queue: str,
        durable: bool = False,
        arguments: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.queues.append(
            {
                "name": queue,
                "vhost": self.vhost,
                "durable": durable,
                "auto_delete": False,
                "arguments": dict(arguments or {}),
            }
        )

    def queue_bind(
        self, queue: str, exchange: str, routing_key: str | None = None, **_: Any
    ) -> None:
        self.bindings.append(
            {
                "source": exchange,
                "vhost": self.vhost,
                "destination": queue,
                "destination_type": "queue",
                "routing_key": queue if routing_key is None else routing_key,  # as pika does
                "arguments": {},
            }
        )


def definitions(topology: Topology, users: Sequence[BrokerUser]) -> dict[str, Any]:
    """The RabbitMQ definitions of a namespace's topology and these users, without passwords:
    deploy/rabbitmq/definitions.json is this for the default namespace."""
    vhosts = sorted({user.vhost for user in users} or {"/"})
    recorder = _Recorder(vhosts[0])
    topology.declare(recorder)
    document: dict[str, Any] = {
        "users": [],
        "vhosts": [{"name": vhost} for vhost in vhosts],
        "permissions": [],
        "topic_permissions": [],
        "exchanges": recorder.exchanges,
        "queues": recorder.queues,
        "bindings": recorder.bindings,
    }
    for user in users:
        for key, items in user.definitions().items():
            document[key] += items
    return document


def with_passwords(document: Mapping[str, Any], passwords: Mapping[str, str]) -> dict[str, Any]:
    """The definitions with a password hash for every user; raise if one has no password."""
    sealed = copy.deepcopy(dict(document))
    for user in sealed["users"]:
        password = passwords.get(user["name"])
        if not password:
            raise BrokerSetupError(f"no password for broker user {user['name']}")
        user["password_hash"] = password_hash(password)
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    return sealed


@dataclass(frozen=True)
class UrlCredentials:
    user: str
    password: str
    vhost: str


def credentials(amqp_url: str) -> UrlCredentials:
    params = pika.URLParameters(amqp_url)
    plain = params.credentials
    return UrlCredentials(
        str(getattr(plain, "username", "")),
        str(getattr(plain, "password", "")),
        params.virtual_host,
    )
