"""`traininglog serve` runs the HTTP API and the outbox relay; `traininglog migrate` only migrates."""

import argparse
import signal
import threading
from types import FrameType

import structlog
import waitress

from backtrack_shared.logs import configure_logging
from traininglog.bootstrap import bootstrap, migrate
from traininglog.config import Settings

log = structlog.get_logger("traininglog")


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(settings: Settings) -> None:
    service = bootstrap(settings)
    migrate(service.engine)
    relay_thread = threading.Thread(target=service.relay.run, name="outbox-relay", daemon=True)
    relay_thread.start()
    server = waitress.create_server(
        service.app, host=settings.host, port=settings.port, threads=settings.http_threads
    )
    signal.signal(signal.SIGTERM, _raise_exit)
    log.info("traininglog.started", host=settings.host, port=settings.port,
             database=service.engine.url.render_as_string(hide_password=True))
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        log.info("traininglog.stopping")
    finally:
        server.close()
        service.relay.stop()
        relay_thread.join(timeout=10)
        service.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="traininglog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then run the HTTP API and the outbox relay")
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging("traininglog", settings.log_level)
    if args.command == "serve":
        serve(settings)
    else:
        service = bootstrap(settings)
        migrate(service.engine)


if __name__ == "__main__":
    main()
