"""`backtrack-broker`: the broker users of a machine's RabbitMQ, and the compose definitions.

    backtrack-broker users                  # traininglog's and the planner's broker users
    backtrack-broker tenant acme app-acme   # a subscriber user for tenant acme's routines
    backtrack-broker delete app-acme
    backtrack-broker definitions            # deploy/rabbitmq/definitions.json, no passwords
    backtrack-broker seal TEMPLATE OUT      # the same with password hashes (compose, at boot)

Users, passwords and vhosts come from the URLs the services connect with: TRAININGLOG_AMQP_URL
and PLANNER_AMQP_URL, each falling back to AMQP_URL; the namespace from BROKER_NAMESPACE
(default backtrack). A service connecting as guest gets no user (development: `make run`).
`users`, `tenant` and `delete` run rabbitmqctl (RABBITMQCTL, default `rabbitmqctl`), as root on
the broker's machine. A tenant's password is BROKER_USER_PASSWORD, or one is made and printed.
"""

import argparse
import json
import os
import secrets
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from backtrack_shared.broker.setup import (
    BrokerSetupError,
    Rabbitmqctl,
    UrlCredentials,
    credentials,
    definitions,
    with_passwords,
)
from backtrack_shared.broker.topology import Topology, routine_routing_key
from backtrack_shared.broker.users import planner_user, tenant_subscriber, traininglog_user
from backtrack_shared.settings import DEFAULT_AMQP_URL, Environment

GUEST = "guest"


def service_credentials(environ: Mapping[str, str], service: str) -> UrlCredentials:
    """The broker user a service connects as in this environment: <SERVICE>_AMQP_URL, else
    AMQP_URL, as the service's own settings read it."""
    return credentials(
        Environment(environ, service).text("AMQP_URL", DEFAULT_AMQP_URL, shared=True)
    )


def topology_of(environ: Mapping[str, str]) -> Topology:
    return Topology(environ.get("BROKER_NAMESPACE") or "backtrack")


def create_service_users(environ: Mapping[str, str], ctl: Rabbitmqctl) -> list[str]:
    """Put traininglog's and the planner's users (those not guest); return the lines said."""
    topology = topology_of(environ)
    said = []
    traininglog = service_credentials(environ, "traininglog")
    planner = service_credentials(environ, "planner")
    if traininglog.user == planner.user != GUEST:
        raise BrokerSetupError(
            f"traininglog and the planner both connect as {traininglog.user}: give each its own "
            "broker user (TRAININGLOG_AMQP_URL, PLANNER_AMQP_URL), or the planner cannot tell "
            "traininglog's events from anyone's"
        )
    for service, found, make in (
        ("traininglog", traininglog, traininglog_user),
        ("planner", planner, planner_user),
    ):
        if found.user == GUEST:
            said.append(f"{service} connects as guest: no broker user to create (development)")
            continue
        ctl.put_user(make(found.user, topology, vhost=found.vhost), found.password)
        said.append(
            f"{service}: broker user {found.user} on vhost {found.vhost} ({topology.namespace})"
        )
    return said


def subscribe_hint(topology: Topology, tenant: str, user: str) -> str:
    queue = f"{topology.subscriber_queue_prefix(tenant)}routines"
    return (
        f"{user} may declare queues named {topology.subscriber_queue_prefix(tenant)}* and bind "
        f"them to {topology.routines_exchange} with routing key {routine_routing_key(tenant)} "
        f"alone; e.g. queue {queue}"
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="backtrack-broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("users", help="traininglog's and the planner's broker users")
    tenant = commands.add_parser("tenant", help="a subscriber user for one tenant's routines")
    tenant.add_argument("tenant")
    tenant.add_argument("user")
    tenant.add_argument("--vhost", default="/")
    commands.add_parser("delete", help="delete a broker user").add_argument("user")
    template = commands.add_parser("definitions", help="the definitions file, no passwords")
    template.add_argument("--traininglog-user", default="traininglog")
    template.add_argument("--planner-user", default="planner")
    template.add_argument("--vhost", default="/")
    seal = commands.add_parser("seal", help="a definitions file with password hashes")
    seal.add_argument("template", type=Path)
    seal.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    ctl = Rabbitmqctl(tuple(shlex.split(environ.get("RABBITMQCTL") or "rabbitmqctl")))
    topology = topology_of(environ)
    try:
        if args.command == "users":
            for line in create_service_users(environ, ctl):
                print(line)
        elif args.command == "tenant":
            password = environ.get("BROKER_USER_PASSWORD") or secrets.token_urlsafe(24)
            ctl.put_user(
                tenant_subscriber(args.user, topology, args.tenant, vhost=args.vhost), password
            )
            if not environ.get("BROKER_USER_PASSWORD"):
                print(f"password (shown once): {password}")
            print(subscribe_hint(topology, args.tenant, args.user))
        elif args.command == "delete":
            print("deleted" if ctl.delete_user(args.user) else "no such user")
        elif args.command == "definitions":
            users = [
                traininglog_user(args.traininglog_user, topology, vhost=args.vhost),
                planner_user(args.planner_user, topology, vhost=args.vhost),
            ]
            print(json.dumps(definitions(topology, users), indent=2))
        else:
            passwords = {
                found.user: found.password
                for found in (
                    service_credentials(environ, "traininglog"),
                    service_credentials(environ, "planner"),
                )
            }
            sealed = with_passwords(json.loads(args.template.read_text()), passwords)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                json.dump(sealed, out, indent=2)
            print(f"{args.out}: {', '.join(u['name'] for u in sealed['users'])}")
    except (BrokerSetupError, ValueError) as err:
        sys.exit(f"backtrack-broker: {err}")


if __name__ == "__main__":
    main()
