"""The planner's routine outbox, relayed by every planner process of a fleet."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert

from backtrack_shared.broker.relay import OutboxRelay
from planner.adapters.projection_store import SqlAlchemyRoutineOutbox
from planner.adapters.tables import planner_outbox
from tests.support.publishers import CountingPublisher
from tests.support.stores import migrated_database_of_its_own

pytestmark = pytest.mark.integration


def test_relays_of_several_planners_send_each_routine_update_once(postgres_url: str) -> None:
    """Every planner process runs a relay on the one routine outbox (they share PostgreSQL):
    they take turns, so each routine.updated goes out once, not once per planner (webhook
    dispatchers and subscribers got every update as many times as planners ran)."""
    with migrated_database_of_its_own(postgres_url, "routine_outbox") as engine:
        rows = [
            {
                "routing_key": "routine.updated.acme",
                "message_id": f"routine-{n}",
                "body": "{}",
                "user_id": f"user-{n}",
                "tenant": "acme",
            }
            for n in range(60)
        ]
        with engine.begin() as connection:
            connection.execute(insert(planner_outbox), rows)
        publisher = CountingPublisher()
        outboxes = [SqlAlchemyRoutineOutbox(engine) for _ in range(3)]
        relays = [OutboxRelay(outbox, publisher, "routines", batch_size=10) for outbox in outboxes]
        with ThreadPoolExecutor(len(relays)) as pool:
            while outboxes[0].backlog():
                list(pool.map(lambda relay: relay.relay_once(), relays))
        assert set(publisher.sent) == {row["message_id"] for row in rows}
        assert set(publisher.sent.values()) == {1}
