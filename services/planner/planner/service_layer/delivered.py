"""Applying what the broker delivered, many events a transaction, with the result of applying
them one at a time, each after `fill_gap` (its user's earlier events that never arrived)."""

from collections.abc import Sequence

from backtrack_shared.user_key import UserKey, key_of
from planner.service_layer.apply import ApplyResult, apply_events
from planner.service_layer.catch_up import Envelope, Feed, UnitOfWorkFactory, fill_gap
from planner.service_layer.folds import RoutineFolds


def runs_without_gaps(envelopes: Sequence[Envelope]) -> list[list[Envelope]]:
    """The envelopes in order, cut before any that skips stream versions after an earlier one of
    its user: that gap can only be filled once what precedes it is applied. Almost always one
    run: gaps come from messages the broker lost or returned to the queue."""
    runs: list[list[Envelope]] = [[]]
    highest: dict[UserKey, int] = {}
    for envelope in envelopes:
        user, version = key_of(envelope), envelope["stream_version"]
        if user in highest and version > highest[user] + 1:
            runs.append([])
            highest = {}
        runs[-1].append(envelope)
        highest[user] = max(version, highest.get(user, version))
    return [run for run in runs if run]


def apply_delivered(
    unit_of_work: UnitOfWorkFactory,
    feed: Feed,
    envelopes: Sequence[Envelope],
    folds: RoutineFolds | None = None,
) -> list[ApplyResult]:
    """Apply the envelopes in this order, one transaction a run without gaps, after filling the
    gap before each user's first event of the run; one result per envelope."""
    results: list[ApplyResult] = []
    for run in runs_without_gaps(envelopes):
        firsts: dict[UserKey, Envelope] = {}
        for envelope in run:
            firsts.setdefault(key_of(envelope), envelope)
        for envelope in firsts.values():
            fill_gap(unit_of_work, feed, envelope, folds)
        results += apply_events(unit_of_work, run, folds=folds)
    return results
