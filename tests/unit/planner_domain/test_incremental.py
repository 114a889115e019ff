"""Folding one event at a time gives byte for byte what folding the whole history again gives."""

import json
import random

from domain_builders import History
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_runner import all_names, load, play

from planner.domain import derive_routine
from planner.domain.incremental import IncrementalFold


def as_text(routine) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(routine.to_dict(), sort_keys=True)


def check_every_step(arrivals) -> int:  # type: ignore[no-untyped-def]
    """Apply events in arrival order the way the planner does; return how many were folded on."""
    seen = []
    fold: IncrementalFold | None = None
    stepped = 0
    for event in arrivals:
        seen.append(event)
        as_of = max(e.occurred_at for e in seen)
        if fold is not None and fold.take(event):
            stepped += 1
        else:
            fold = IncrementalFold.of(seen, as_of)
        assert as_text(fold.routine()) == as_text(derive_routine(seen, as_of))
    return stepped


def test_every_scenario_in_order_is_folded_one_event_at_a_time():
    for name in all_names():
        events = play(load(name)).events
        arrivals = sorted(events, key=lambda e: (e.occurred_at, e.stream_version))
        stepped = check_every_step(arrivals)
        without_record_ids = [e for e in arrivals if e.source.get("record_id") is None]
        assert stepped >= len(without_record_ids) - 1


@settings(max_examples=12, deadline=None, database=None)
@given(st.sampled_from(all_names()), st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffled_arrivals_give_the_full_folds_routine_at_every_step(name, seed):
    events = list(play(load(name)).events)
    random.Random(seed).shuffle(events)
    check_every_step(events)


def test_an_event_that_is_not_the_latest_is_refused_and_changes_nothing():
    history = History(user="inc")
    first = history.baseline()
    later = history.add(
        "pain.reported",
        {"score": 1, "timing": "rest", "location": "back", "red_flags": []},
        history.at(3, 1),
    )
    earlier = history.add(
        "pain.reported",
        {"score": 2, "timing": "rest", "location": "back", "red_flags": []},
        history.at(1, 1),
    )
    fold = IncrementalFold.of([first, later], later.occurred_at)
    before = as_text(fold.routine())
    assert not fold.take(earlier)
    assert as_text(fold.routine()) == before
