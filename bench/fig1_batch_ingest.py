"""Figure 1: batch ingest into the event store and its outbox, through the service layer.

Measured: `traininglog.service_layer.ingest.record_events` with batches of 500 validated envelopes
(canonical body and hash, the append lock, duplicate and stream-head look-ups, the append rules,
INSERT ... RETURNING, the outbox rows, a log line and a metric per event).
Baseline: the same rows (body and hash computed beforehand) into the same tables with plain
SQLAlchemy Core executemany, one transaction per batch: what the database alone costs.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert

from backtrack_shared.db import WRITE
from bench import infra
from bench.config import BATCH, Config
from bench.harness import Row, Stat, rate
from bench.workload import workload
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork
from traininglog.adapters.tables import event_outbox, events
from traininglog.service_layer.ingest import record_events


def batches(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def ingest_through_service(engine: Engine, envelopes: Sequence[dict[str, Any]]) -> None:
    for batch in batches(envelopes):
        receipts = record_events(lambda: SqlAlchemyUnitOfWork(engine), batch)
        assert all(receipt.position is not None for receipt in receipts)


def insert_raw(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    for batch in batches(rows):
        with engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(insert(events), batch)
            connection.execute(insert(event_outbox), [{"position": r["position"]} for r in batch])


def run(config: Config) -> list[Row]:
    load = workload(config.ingest_events, prefix="ingest")
    envelopes, rows = load.validated(), list(load.rows())
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
