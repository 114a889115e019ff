"""How big and how often: the full run and `--quick` (CI smoke, under two minutes)."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    quick: bool
    repeats: int
    ingest_events: int  # figures 1 and 8: events appended per run, in batches of BATCH
    http_seconds: float  # figure 2: seconds of load per run
    relay_messages: int  # figure 3
    apply_events: int  # figure 4
    e2e_seconds: float  # figure 5: seconds at the offered rate
    e2e_rates: tuple[float, ...]  # figure 5: events per second offered, one set of runs each
    e2e_deadline_s: float  # figure 5: how long after the last POST answered a probe may still show
    e2e_search_seconds: float  # figure 5: seconds of each run of the highest-rate search
    e2e_search_steps: int  # figure 5: at most this many runs in that search
    sizes: tuple[int, ...]  # figures 6, 7, 8: events stored (the smallest is the reference)
    rebuild_sizes: tuple[int, ...]  # figure 6: the rule-bound rebuild (see README: ~30 events/s)
    appended_after_prefill: int  # figure 7: events ingested on top of the stored ones
    drain_events: int  # figure 9: the backlog 1 and 2 planner processes drain
    fold_weeks: tuple[int, ...]  # figure 11: weeks of history (the smallest is the reference)
    fold_rate_weeks: int  # figure 11: the history folded whole for events/s
    fold_timed_events: int  # figure 11: the last events of each history timed one by one
    log_dir: Path

    @classmethod
    def make(
        cls,
        *,
        quick: bool,
        log_dir: Path,
        repeats: int | None = None,
        sizes: tuple[int, ...] | None = None,
        rebuild_sizes: tuple[int, ...] | None = None,
        drain_events: int | None = None,
    ) -> "Config":
        if quick:
            return cls(
                quick=True,
                repeats=repeats or 1,
                ingest_events=2000,
                http_seconds=3,
                relay_messages=1000,
                apply_events=120,
                e2e_seconds=5,
                e2e_rates=(200,),
                e2e_deadline_s=8,
                e2e_search_seconds=5,
                e2e_search_steps=3,
                sizes=sizes or (1000, 5000),
                rebuild_sizes=rebuild_sizes or (150, 400),
                appended_after_prefill=1000,
                drain_events=drain_events or 500,
                fold_weeks=(4, 8, 20),
                fold_rate_weeks=8,
                fold_timed_events=30,
                log_dir=log_dir,
            )
        return cls(
            quick=False,
            repeats=repeats or 3,
            ingest_events=10_000,
            http_seconds=10,
            relay_messages=5000,
            apply_events=600,
            e2e_seconds=60,
            e2e_rates=(200, 20),
            e2e_deadline_s=20,
            e2e_search_seconds=20,
            e2e_search_steps=6,
            sizes=sizes or (10_000, 100_000),
            rebuild_sizes=rebuild_sizes or (1000, 10_000),
            appended_after_prefill=5000,
            drain_events=drain_events or 20_000,
            fold_weeks=(26, 104, 520),
            fold_rate_weeks=104,
            fold_timed_events=100,
            log_dir=log_dir,
        )


BATCH = 500  # envelopes per record_events call, as POST /v1/events/batch allows at most
