"""Figure 4: the planner applying events with the full progression rules, on PostgreSQL.

Measured: `planner.service_layer.apply.apply_event` for each stored envelope of realistic users
(whole 12-week scenario histories, users interleaved as in the feed), announcing new routine
versions to the outbox as the consumer does: dedupe, store the event, read the user's history
back, fold it through the rules, store the new routine version and outbox row, one transaction.
Baseline: the same rules on the same events in memory, no database (`replay_versions`, which
also folds each user's whole history once per event): what the rules alone cost.
"""

from collections import defaultdict

from sqlalchemy import Engine, text

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat, rate
from bench.workload import workload
from planner.adapters.projection_store import SqlAlchemyUnitOfWork, logged_event
from planner.service_layer.apply import apply_event
from planner.service_layer.versions import replay_versions

PLANNER_TABLES = (
    "planner_events, planner_users, planner_routine_versions, planner_outbox, "
    "planner_user_tenants, planner_erasures"
)


def empty_planner(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {PLANNER_TABLES}, planner_checkpoints"))


def run(config: Config) -> list[Row]:
    load = workload(config.apply_events, prefix="apply")
    stored = list(load.stored())
    by_user = defaultdict(list)
    for envelope in stored:
        by_user[envelope["user_id"]].append(logged_event(envelope))

    def apply_all(engine: Engine) -> None:
        for envelope in stored:
            apply_event(lambda: SqlAlchemyUnitOfWork(engine), envelope)

    def rules_only() -> None:
        for events in by_user.values():
            replay_versions(events)

    applied, pure = Stat(), Stat()
    with infra.postgres_database("apply") as url, infra.planner_engine(url) as engine:
        for _ in range(config.repeats):
            empty_planner(engine)
            applied.add(rate(len(stored), lambda: apply_all(engine)))
            pure.add(rate(len(stored), rules_only))
    return [
        Row(
            "4",
            f"planner apply_event, full rules, postgresql, {len(stored):,} events "
            f"of {len(by_user)} users",
            applied,
            "the same rules in memory (replay_versions)",
            pure,
            "events/s",
        )
    ]
