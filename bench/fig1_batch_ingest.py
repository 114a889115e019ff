"""Figure 1: batch ingest into the event store and its outbox, through the service layer.

Measured: `traininglog.service_layer.ingest.record_events` with batches of 500 validated envelopes
(canonical body and hash, the append lock, the user, duplicate and stream-head look-ups, the
append rules, a data key and a `users` row for each new user, each body sealed with its user's
key, positions assigned under the lock, the events' and outbox rows' executemany, one log line
per batch naming every event id, metrics).
Baseline: the same rows (each batch's new users with their keys, the events with their hash and
sealed body, computed beforehand) into the same tables with plain SQLAlchemy Core executemany,
one transaction per batch: what the database alone costs. Sealing counts on our side only.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert

from backtrack_shared.db import WRITE
from bench import infra
from bench.config import BATCH, Config
from bench.harness import Row, Stat, rate
from bench.workload import TENANT, data_key, workload
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork
from traininglog.adapters.tables import event_outbox, events, users
from traininglog.domain.append import Writer
from traininglog.service_layer.ingest import record_events

# The bench's client app, writing for its own users (as its API key would over HTTP).
WRITER = Writer(TENANT)


def batches(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def ingest_through_service(engine: Engine, envelopes: Sequence[dict[str, Any]]) -> None:
    for batch in batches(envelopes):
        receipts = record_events(
            lambda: SqlAlchemyUnitOfWork(engine, infra.keys_of(engine)), batch, WRITER
        )
        assert all(receipt.position is not None for receipt in receipts)


RawBatch = tuple[list[dict[str, Any]], Sequence[dict[str, Any]]]  # (new users' rows, event rows)


def raw_batches(
    user_rows: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[RawBatch]:
    """The event rows in batches, each with the `users` rows of the users it writes for first,
    as record_events adds them."""
    by_user = {row["user_id"]: row for row in user_rows}
    seen: set[str] = set()
    prepared = []
    for batch in batches(rows):
        first_here = {r["user_id"] for r in batch} - seen
        seen |= first_here
        prepared.append(([by_user[user_id] for user_id in sorted(first_here)], batch))
    return prepared


def insert_raw(engine: Engine, prepared: Sequence[RawBatch]) -> None:
    keys = infra.keys_of(engine)
    for new_users, batch in prepared:
        # The new users' keys first, in the key store, as record_events commits them.
        keys.add({row["key_id"]: data_key(row["user_id"]) for row in new_users})
        with engine.connect().execution_options(**WRITE) as connection, connection.begin():
            if new_users:
                connection.execute(insert(users), new_users)
            connection.execute(insert(events), batch)
            connection.execute(insert(event_outbox), [{"position": r["position"]} for r in batch])


def run(config: Config) -> list[Row]:
    load = workload(config.ingest_events, prefix="ingest")
    envelopes, rows = load.validated(), raw_batches(load.user_rows(), list(load.rows()))
    result = []
    for backend in ("postgresql", "sqlite"):
        service, raw = Stat(), Stat()
        with infra.database(backend, "ingest") as url, infra.traininglog_engine(url) as engine:
            for _ in range(config.repeats):  # alternate, so drift hits both alike
                infra.empty_event_store(engine)
                service.add(rate(len(load), lambda: ingest_through_service(engine, envelopes)))
                infra.empty_event_store(engine)
                raw.add(rate(len(load), lambda: insert_raw(engine, rows)))
        result.append(
            Row(
                "1",
                f"batch ingest, record_events x{BATCH}, {backend}, {len(load):,} events",
                service,
                "Core executemany of the same rows",
                raw,
                "events/s",
            )
        )
    return result
