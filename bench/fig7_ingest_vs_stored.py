"""Figure 7: ingest cost as the store grows.

Measured: `record_events` in batches of 500 (5,000 new events; quick: 1,000) on top of a
PostgreSQL store already holding each larger size of `--sizes` (default 100,000; 1,000,000 is
opt-in). Baseline: the same on top of the smallest size (default 10,000). The stored events are
prefilled with plain Core inserts (not timed), with their users; after each run the new events
and their new users are deleted again.
"""

from sqlalchemy import Engine, text

from bench import infra
from bench.config import Config
from bench.fig1_batch_ingest import ingest_through_service
from bench.harness import Row, Stat, rate
from bench.workload import workload


def forget_after(engine: Engine, position: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM event_outbox WHERE position > :p"), {"p": position})
        connection.execute(text("DELETE FROM events WHERE position > :p"), {"p": position})
        # The users the run wrote for first: the next run adds them (and their keys) again.
        connection.execute(
            text(
                "DELETE FROM users WHERE NOT EXISTS "
                "(SELECT 1 FROM events WHERE events.tenant = users.tenant "
                "AND events.user_id = users.user_id)"
            )
        )
        connection.execute(text("SELECT setval('events_position_seq', :p)"), {"p": position})


def ingest_on_top(config: Config, stored: int) -> Stat:
    new = workload(config.appended_after_prefill, prefix="fresh")
    envelopes = new.validated()
    stat = Stat()
    with infra.postgres_database(f"stored{stored}") as url, infra.traininglog_engine(url) as engine:
        infra.insert_rows(engine, workload(stored, prefix="stored"), outbox=False)
        for _ in range(config.repeats):
            stat.add(rate(len(new), lambda: ingest_through_service(engine, envelopes)))
            forget_after(engine, stored)
    return stat


def run(config: Config) -> list[Row]:
    smallest, *larger = sorted(config.sizes)
    reference = ingest_on_top(config, smallest)
    return [
        Row(
            "7",
            f"ingest x500 with {size:,} events stored, postgresql",
            ingest_on_top(config, size),
            f"the same with {smallest:,} stored",
            reference,
            "events/s",
        )
        for size in larger
    ]
