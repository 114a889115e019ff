"""Recording events in traininglog's store the way its HTTP endpoint does, as client acme."""

from sqlalchemy import Engine

from backtrack_shared.contracts import NewEventSchema
from tests.support.stores import keys_for
from traininglog.adapters.event_store import SqlAlchemyUnitOfWork
from traininglog.domain.append import Writer
from traininglog.service_layer.ingest import Receipt, record_events


def record(engine: Engine, *documents: dict) -> list[Receipt]:
    loaded = [NewEventSchema().load(document) for document in documents]
    return record_events(lambda: SqlAlchemyUnitOfWork(engine, keys_for(engine)), loaded, Writer("acme"))
