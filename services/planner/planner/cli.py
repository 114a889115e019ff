"""`planner serve` runs the HTTP API, the event consumer and the routine outbox relay;
`planner migrate` only migrates."""

import argparse

from backtrack_shared.logs import configure_logging
from backtrack_shared.serve import Worker, serve
from planner.bootstrap import bootstrap, migrate
from planner.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="planner", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then run the HTTP API, consumer and relay")
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging("planner", settings.log_level)
    service = bootstrap(settings)
    migrate(service.engine)
    if args.command == "serve":
        serve(
            service.app,
            host=settings.host,
            port=settings.port,
            threads=settings.http_threads,
            workers=[
                Worker("event-consumer", service.consumer.run, service.consumer.stop),
                Worker("outbox-relay", service.relay.run, service.relay.stop),
            ],
        )
    service.engine.dispose()


if __name__ == "__main__":
    main()
