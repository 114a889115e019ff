"""One replay in a process of its own, so that its peak RSS is its own (figures 6 and 8).

`python -m bench.replay_worker MODE DATABASE_URL` prints
{"events": n, "seconds": s, "peak_rss_mib": m} where MODE is one of
- raw: `SELECT body FROM events ORDER BY position` streamed (server-side cursor), with the key
  id of each event's user joined in (the keys, from their own database, read first), each body
  opened (AES-GCM, as stored) + json.loads;
- feed: traininglog's feed reader, pages of 500 (what GET /v1/feed serves, without HTTP);
- rebuild: `planner.service_layer.catch_up.rebuild` from that feed into the planner's tables
  (full progression rules for every event);
- eventsourcing: the eventsourcing library's `select_notifications`, pages of 500, + json.loads.
"""

import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, text

from backtrack_shared.db import create_database_engine
from backtrack_shared.gc_tuning import settle_after_startup
from backtrack_shared.logs import configure_logging
from bench.harness import Timer, peak_rss_mib

if TYPE_CHECKING:
    from traininglog.adapters.key_store import SqlAlchemyKeyStore

PAGE = 500  # the planner's HttpTrainingLogFeed page size


class DatabaseFeed:
    """The planner's Feed protocol straight over traininglog's reader: the feed pages the
    HTTP API would serve, without the HTTP hop."""

    def __init__(self, engine: Engine) -> None:
        from traininglog.adapters.event_store import SqlAlchemyEventReader

        self._reader = SqlAlchemyEventReader(engine, key_store(engine))

    def head(self) -> int:
        return self._reader.head()

    def pages(self, after: int) -> Iterator[list[dict[str, Any]]]:
        while page := self._reader.feed(after, PAGE):
            yield page
            after = page[-1]["position"]

    def user_events(self, user: Any, after_version: int = 0) -> Iterator[dict[str, Any]]:
        while page := self._reader.stream(user, after_version, PAGE):
            yield from page
            after_version = page[-1]["stream_version"]


def key_store(engine: Engine) -> "SqlAlchemyKeyStore":
    """traininglog's key store beside the bench database (bench.infra.keys_url)."""
    from bench.infra import keys_url
    from traininglog.adapters.key_store import SqlAlchemyKeyStore

    return SqlAlchemyKeyStore(
        create_database_engine(keys_url(engine.url.render_as_string(hide_password=False)))
    )


def raw(engine: Engine) -> int:
    from traininglog.adapters.key_store import data_keys
    from traininglog.adapters.sealing import unseal

    with key_store(engine).engine.connect() as connection:  # the keys live apart: read first
        keys = dict(connection.execute(select(data_keys.c.key_id, data_keys.c.data_key)).all())
    count = 0
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=1000).execute(
            text(
                "SELECT events.event_id, events.body, users.key_id FROM events "
                "JOIN users ON users.tenant = events.tenant AND users.user_id = events.user_id "
                "ORDER BY events.position"
            )
        )
        for event_id, body, key_id in result:
            json.loads(unseal(keys.get(key_id), event_id, body))
            count += 1
    return count


def feed(engine: Engine) -> int:
    return sum(len(page) for page in DatabaseFeed(engine).pages(0))


def rebuild(engine: Engine) -> int:
    from planner.adapters.projection_store import SqlAlchemyUnitOfWork
    from planner.bootstrap import migrate
    from planner.service_layer.catch_up import rebuild as rebuild_projections

    migrate(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE planner_events, planner_users, planner_routine_versions, "
                "planner_outbox, planner_checkpoints, planner_user_tenants, planner_erasures"
            )
        )
    return rebuild_projections(lambda: SqlAlchemyUnitOfWork(engine), DatabaseFeed(engine))


def eventsourcing(database_url: str) -> int:
    from bench.fig8_eventsourcing import recorder

    count = 0
    with recorder(database_url) as application_recorder:
        start = 1
        while page := application_recorder.select_notifications(start, PAGE):
            for notification in page:
                json.loads(notification.state)
            count += len(page)
            start = page[-1].id + 1
    return count


def main(mode: str, database_url: str) -> None:
    configure_logging("replay", "INFO", stream=open(os.devnull, "w"))  # noqa: SIM115
    engine = create_database_engine(database_url)
    modes = {
        "raw": lambda: raw(engine),
        "feed": lambda: feed(engine),
        "rebuild": lambda: rebuild(engine),
        "eventsourcing": lambda: eventsourcing(database_url),
    }
    settle_after_startup()  # as a service process does, for every mode alike
    with Timer() as timer:
        count = modes[mode]()
    print(json.dumps({"events": count, "seconds": timer.seconds, "peak_rss_mib": peak_rss_mib()}))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
