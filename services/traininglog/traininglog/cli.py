"""`traininglog serve` runs the HTTP API, its appender and the outbox relay; `traininglog migrate` only migrates."""

import argparse
import sys

from backtrack_shared.logs import configure_logging
from backtrack_shared.serve import serve
from traininglog.bootstrap import bootstrap, migrate
from traininglog.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="traininglog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then run the HTTP API and the outbox relay")
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(
        "traininglog",
        settings.log_level,
        stream=sys.stdout if args.command == "serve" else sys.stderr,
    )
    service = bootstrap(settings)
    migrate(service.engine, service.keys)
    if args.command == "serve":
        serve(
            service.app,
            host=settings.host,
            port=settings.port,
            threads=settings.http_threads,
            workers=service.workers(),
        )
    service.engine.dispose()
    service.keys.engine.dispose()


if __name__ == "__main__":
    main()
