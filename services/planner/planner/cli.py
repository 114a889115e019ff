"""`planner serve` runs the HTTP API, the event consumer, the routine outbox relay and the
feed catch-up; `planner rebuild` rebuilds projections from traininglog's feed;
`planner dead-letters` lists, shows and requeues messages that could not be applied;
`planner migrate` only migrates."""

import argparse
import json
import sys

from tqdm import tqdm

from backtrack_shared.broker.dead_letters import PikaDeadLetters
from backtrack_shared.broker.topology import Topology
from backtrack_shared.gc_tuning import settle_after_startup
from backtrack_shared.logs import configure_logging
from backtrack_shared.serve import serve
from backtrack_shared.user_key import UserKey
from planner.bootstrap import Planner, bootstrap, migrate
from planner.config import Settings
from planner.service_layer.catch_up import REBUILD, RebuildFailed, rebuild, rebuild_user
from planner.webhooks.process import run_dispatcher


def run_rebuild(service: Planner, user: UserKey | None) -> None:
    if user is not None:
        try:
            read = rebuild_user(service.unit_of_work, service.feed, user)
        except RebuildFailed as err:
            sys.exit(
                f"could not rebuild {user.user_id} of {user.tenant} ({err}): their projections "
                "are as they were"
            )
        print(f"rebuilt {user.user_id} of {user.tenant}: {read} events")
        return
    with service.unit_of_work() as uow:
        resumed_from = uow.store.checkpoint(REBUILD) or 0
    head = service.feed.head()
    # Positions may skip numbers, so the total is an upper bound and the ETA a slight overestimate.
    with (
        tqdm(total=max(head - resumed_from, 0), unit="event", desc="store") as stored,
        tqdm(total=max(head, 0), unit="event", desc="fold ") as folded,
    ):
        if resumed_from:
            stored.write(f"resuming an interrupted rebuild after position {resumed_from}")
        last = [resumed_from]

        def advance(_read: int, position: int) -> None:
            stored.update(position - last[0])
            last[0] = position

        skipped: list[str] = []
        read = rebuild(
            service.unit_of_work,
            service.feed,
            on_page=advance,
            on_user=folded.update,
            on_skipped=lambda user, error: skipped.append(f"{user}: {error}"),
        )
    print(f"rebuilt every projection from {read} events, up to position {last[0]}")
    for line in skipped:
        print(f"skipped (routine paused) {line}")


def run_dead_letters(settings: Settings, args: argparse.Namespace) -> None:
    letters = PikaDeadLetters(
        settings.amqp_url, Topology(settings.broker_namespace, partitions=settings.partitions)
    )
    if args.action == "list":
        for letter in letters.list():
            print(json.dumps(letter.summary()))
    elif args.action == "show":
        found = [x.document() for x in letters.list() if x.message_id in set(args.message_ids)]
        print(json.dumps(found, indent=2))
    else:
        chosen = None if args.all else set(args.message_ids)
        if chosen is not None and not chosen:
            raise SystemExit("name the message ids to requeue, or --all")
        print(f"requeued {letters.requeue(chosen)} dead letters")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="planner", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then run the API, consumer, relay and catch-up")
    commands.add_parser("migrate", help="apply database migrations and exit")
    rebuild_parser = commands.add_parser(
        "rebuild",
        help="rebuild projections from traininglog's feed (stop the planner service first, "
        "or use its admin endpoint, which pauses its consumer)",
    )
    # Rebuilding everyone is asked for by name, never what a bare `planner rebuild` does.
    which = rebuild_parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--user", help="rebuild this user only (with --owner)")
    which.add_argument("--all", action="store_true", help="rebuild every user")
    rebuild_parser.add_argument("--owner", help="the client whose user --user is")
    commands.add_parser("webhooks", help="run the webhook dispatcher (README: Webhooks)")
    dead = commands.add_parser("dead-letters", help="messages the planner could not apply")
    dead.add_argument("action", choices=("list", "show", "requeue"))
    dead.add_argument("message_ids", nargs="*", help="for show and requeue")
    dead.add_argument("--all", action="store_true", help="requeue every dead letter")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(
        "planner", settings.log_level, stream=sys.stdout if args.command == "serve" else sys.stderr
    )
    if args.command == "dead-letters":
        run_dead_letters(settings, args)
        return
    if args.command == "webhooks":
        run_dispatcher(settings)
        return
    service = bootstrap(settings)
    migrate(service.engine)
    if args.command == "serve":
        serve(
            service.app,
            host=settings.host,
            port=settings.port,
            threads=settings.http_threads,
            workers=service.workers(),
        )
    elif args.command == "rebuild":
        settle_after_startup()
        if (args.user is None) != (args.owner is None):
            raise SystemExit("--user and --owner go together: a user id is its client's own")
        run_rebuild(service, UserKey(args.owner, args.user) if args.user else None)
    service.engine.dispose()


if __name__ == "__main__":
    main()
