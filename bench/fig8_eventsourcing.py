"""Figure 8: the same append and replay done by the `eventsourcing` library, the peer to beat.

eventsourcing (version pinned in bench/requirements.txt) stores events with its PostgreSQL
application recorder (`eventsourcing.postgres`, psycopg 3) in the same bench database: one
stream per user (originator_id = user_id as text, originator_version = stream version), the
event's canonical JSON as its state, a global notification id as the position.
- append: `PostgresApplicationRecorder.insert_events` with batches of 500 (the canonical JSON
  encoded inside the clock, as record_events does), vs ours, `record_events` with batches of 500.
- replay: `select_notifications` in pages of 500 + json.loads, vs ours, traininglog's feed
  reader in pages of 500 (each in a process of its own, see figure 6), at every size of
  `--sizes`.
Here ours is the measured figure and eventsourcing the baseline: a ratio above 1 beats it.
Ours seals each body with its user's key on append and opens it on the read (the store always
does); eventsourcing's recorder stores and reads plain JSON.
"""

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from sqlalchemy.engine import make_url

from backtrack_shared.contracts import canonical_body
from bench import infra
from bench.config import BATCH, Config
from bench.fig1_batch_ingest import batches, ingest_through_service
from bench.harness import Row, Stat, rate
from bench.workload import workload

TABLE = "es_events"


@contextlib.contextmanager
def recorder(database_url: str) -> Iterator[PostgresApplicationRecorder]:
    url = make_url(database_url)
    datastore = PostgresDatastore(
        dbname=url.database or "",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        originator_id_type="text",
    )
    try:
        application_recorder = PostgresApplicationRecorder(datastore, events_table_name=TABLE)
        application_recorder.create_table()
        yield application_recorder
    finally:
        datastore.close()


def stored_event(envelope: dict[str, Any], version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=envelope["user_id"],
        originator_version=version,
        topic=f"backtrack:{envelope['type']}",
        state=canonical_body(envelope).encode(),
    )


def append_with_eventsourcing(
    application_recorder: PostgresApplicationRecorder,
    envelopes: Sequence[dict[str, Any]],
    versions: Sequence[int],
) -> None:
    pairs = list(zip(envelopes, versions, strict=True))
    for batch in batches(pairs, BATCH):
        application_recorder.insert_events([stored_event(e, v) for e, v in batch])


def empty_eventsourcing(database_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLE} RESTART IDENTITY"))
    engine.dispose()


def run(config: Config) -> list[Row]:
    from bench.fig6_replay import measure

    rows = []
    load = workload(config.ingest_events, prefix="peer")
    envelopes = load.validated()
    versions = [clone.template.stream_version for clone in load.clones]
    ours, theirs = Stat(), Stat()
    with (
        infra.postgres_database("peer") as url,
        infra.traininglog_engine(url) as engine,
        recorder(url) as application_recorder,
    ):
        for _ in range(config.repeats):
            infra.empty_event_store(engine)
            ours.add(rate(len(load), lambda: ingest_through_service(engine, envelopes)))
            empty_eventsourcing(url)
            theirs.add(
                rate(
                    len(load),
                    lambda: append_with_eventsourcing(application_recorder, envelopes, versions),
                )
            )
    rows.append(
        Row(
            "8",
            f"append x{BATCH}, record_events (ours), postgresql, {len(load):,} events",
            ours,
            "eventsourcing insert_events x500",
            theirs,
            "events/s",
        )
    )

    for size in config.sizes:
        replay_load = workload(size, prefix="peer-replay")
        with infra.postgres_database(f"peer{size}") as url, infra.traininglog_engine(url) as engine:
            infra.insert_rows(engine, replay_load, outbox=False)
            with recorder(url) as application_recorder:
                replay_versions = [clone.template.stream_version for clone in replay_load.clones]
                for start in range(0, size, 5000):
                    append_with_eventsourcing(
                        application_recorder,
                        replay_load.validated()[start : start + 5000],
                        replay_versions[start : start + 5000],
                    )
            feed = measure("feed", url, size, config.repeats)
            peer = measure("eventsourcing", url, size, config.repeats)
        rows.append(
            Row(
                "8",
                f"replay read, feed pages of 500 (ours), {size:,} events",
                feed["rate"],
                "eventsourcing select_notifications x500",
                peer["rate"],
                "events/s",
            )
        )
        rows.append(
            Row(
                "8",
                f"replay read (ours), {size:,} events: peak RSS",
                feed["rss"],
                "eventsourcing's peak RSS",
                peer["rss"],
                "MiB",
                higher_is_better=False,
            )
        )
    return rows
