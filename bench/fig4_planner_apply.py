"""Figure 4: the planner applying events with the full progression rules, on PostgreSQL.

Measured, on the stored envelopes of realistic users (whole 12-week scenario histories, users
interleaved as in the feed), announcing new routine versions to the outbox as the consumer does:
- the live path as the consumer drives it with a backlog: `apply_delivered` on batches of
  `PLANNER_BATCH_SIZE` (default 100) envelopes, with the fold cache of `PLANNER_FOLD_CACHE_USERS`
  users: the gap check of each user's first event of the batch, then one transaction a batch
  (dedupe, store the events, fold them on, store new routine versions and their outbox rows);
- `apply_event` for each envelope, one transaction each, without a fold cache: dedupe, store
  the event, read the user's history back, fold it through the rules, store the new routine
  version and outbox row (the figure before the consumer batched).
Baseline: the same rules on the same events in memory, no database (`replay_versions`, which
also folds each user's whole history once per event): what the rules alone cost.
"""

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import Engine, text

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat, rate
from bench.workload import workload
from planner.adapters.projection_store import SqlAlchemyUnitOfWork, logged_event
from planner.config import Settings
from planner.domain.versions import replay_versions
from planner.service_layer.apply import apply_event
from planner.service_layer.delivered import apply_delivered
from planner.service_layer.folds import RoutineFolds

PLANNER_TABLES = (
    "planner_events, planner_users, planner_routine_versions, planner_outbox, "
    "planner_user_tenants, planner_erasures"
)


def empty_planner(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {PLANNER_TABLES}, planner_checkpoints"))


class NoGapsFeed:
    """The workload's streams have no gaps: the live path never asks the feed for anything."""

    def head(self) -> int:
        raise AssertionError("not asked")

    def pages(self, after: int) -> Iterator[list[dict]]:
        raise AssertionError("not asked")

    def user_events(self, user: tuple[str, str], after_version: int = 0) -> Iterator[dict]:
        raise AssertionError(f"a gap in {user}'s stream after {after_version}")


def run(config: Config) -> list[Row]:
    load = workload(config.apply_events, prefix="apply")
    stored = list(load.stored())
    by_user = defaultdict(list)
    for envelope in stored:
        by_user[envelope["user_id"]].append(logged_event(envelope))
    settings = Settings()
    batch = settings.batch_size

    def apply_batches(engine: Engine) -> None:
        folds = RoutineFolds(settings.fold_cache_users)
        for start in range(0, len(stored), batch):
            envelopes = stored[start : start + batch]
            apply_delivered(lambda: SqlAlchemyUnitOfWork(engine), NoGapsFeed(), envelopes, folds)

    def apply_one_by_one(engine: Engine) -> None:
        for envelope in stored:
            apply_event(lambda: SqlAlchemyUnitOfWork(engine), envelope)

    def rules_only() -> None:
        for events in by_user.values():
            replay_versions(events)

    batched, applied, pure = Stat(), Stat(), Stat()
    with infra.postgres_database("apply") as url, infra.planner_engine(url) as engine:
        for _ in range(config.repeats):
            empty_planner(engine)
            batched.add(rate(len(stored), lambda: apply_batches(engine)))
            empty_planner(engine)
            applied.add(rate(len(stored), lambda: apply_one_by_one(engine)))
            pure.add(rate(len(stored), rules_only))
    events = f"{len(stored):,} events of {len(by_user)} users"
    baseline = "the same rules in memory (replay_versions)"
    return [
        Row(
            "4",
            f"planner live apply, apply_delivered x{batch} with fold cache, full rules, "
            f"postgresql, {events}",
            batched,
            baseline,
            pure,
            "events/s",
        ),
        Row(
            "4",
            f"planner apply_event (one event a transaction), full rules, postgresql, {events}",
            applied,
            baseline,
            pure,
            "events/s",
        ),
    ]
