"""Figure 11: the pure fold in memory for one user, per event, as the history grows.

Measured, on one simulated patient's history (`bench/long_histories.py`: the patient simulator
of tests/simulation, its checks left out; about 15 events a week) in history order:
- the cost of one more event at W weeks of history: the first events folded untimed, then each
  of the last ones taken on by the incremental fold with its routine built (`take` then
  `routine().to_dict()`, what `decide_version` asks for after each event), at the smallest and
  the larger histories; baseline: the same at the smallest history, so the ratio says how the
  cost grows with the history (constant: 1.00x);
- events/s of the whole history folded with the routine built after each event; baseline: the
  same fold without building the routine (`take` alone), so the ratio is what the routine costs.
Time is the process's CPU time (`time.process_time`): the fold runs in this process alone and
other processes on a shared machine do not stretch it. No database, no broker.
"""

import time

from bench.config import Config
from bench.harness import Row, Stat
from bench.long_histories import history
from planner.domain.history import LoggedEvent, history_order
from planner.domain.incremental import IncrementalFold


def _events(weeks: int) -> list[LoggedEvent]:
    return sorted(history(weeks), key=history_order)


def cost_of_the_last(events: list[LoggedEvent], timed: int) -> float:
    """Milliseconds of CPU per event over the last `timed` events, each with its routine."""
    fold = IncrementalFold(events[0].occurred_at)
    for event in events[:-timed]:
        fold.take(event)
    started = time.process_time()
    for event in events[-timed:]:
        fold.take(event)
        fold.routine().to_dict()
    return (time.process_time() - started) * 1000 / timed


def fold_rate(events: list[LoggedEvent], *, with_routine: bool) -> float:
    fold = IncrementalFold(events[0].occurred_at)
    started = time.process_time()
    for event in events:
        fold.take(event)
        if with_routine:
            fold.routine().to_dict()
    return len(events) / (time.process_time() - started)


def run(config: Config) -> list[Row]:
    smallest, *larger = config.fold_weeks
    histories = {weeks: _events(weeks) for weeks in config.fold_weeks}
    timed = config.fold_timed_events
    cost = {weeks: Stat() for weeks in config.fold_weeks}
    for _ in range(config.repeats):
        for weeks, events in histories.items():
            cost[weeks].add(cost_of_the_last(events, timed))
    rows = [
        Row(
            "11",
            f"fold + routine, one event at {weeks} weeks of history "
            f"({len(histories[weeks]):,} events; the last {timed})",
            cost[weeks],
            f"the same at {smallest} weeks ({len(histories[smallest]):,} events)",
            cost[smallest],
            "ms CPU/event",
            higher_is_better=False,
        )
        for weeks in larger
    ]
    rated = config.fold_rate_weeks
    events = histories[rated]
    with_routine, bare = Stat(), Stat()
    for _ in range(config.repeats):
        with_routine.add(fold_rate(events, with_routine=True))
        bare.add(fold_rate(events, with_routine=False))
    rows.append(
        Row(
            "11",
            f"in-memory fold with the routine after each event, {rated} weeks "
            f"({len(events):,} events)",
            with_routine,
            "the same fold without building the routine",
            bare,
            "events/s (CPU)",
        )
    )
    return rows
