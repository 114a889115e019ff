"""The fold's rolling windows, kept as slices of time-ordered lists, are what a rescan of the
whole history gives: the same items in the same order, so the same sums to the last bit."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.domain import rules_table as t
from planner.domain.load import acwr
from planner.domain.pain import rising, weekly_means
from planner.domain.state import PainPoint, State
from planner.domain.windows import TimeOrdered, load_at

START = datetime(2026, 3, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60 * 24 * 70)  # ten weeks, to the minute
instants = minutes.map(lambda m: START + timedelta(minutes=m))


def rescan_acwr(
    loads: list[tuple[datetime, float]], at: datetime
) -> tuple[float, float, float | None]:
    """B4's ratio as the fold computed it before its windows were kept: every load scanned."""
    acute_start = at - timedelta(days=t.B4_ACUTE_DAYS)
    chronic_start = at - timedelta(days=t.B4_CHRONIC_DAYS)
    acute = sum(load for when, load in loads if acute_start < when <= at)
    chronic = sum(load for when, load in loads if chronic_start < when <= at)
    chronic_weekly = chronic * t.B4_ACUTE_DAYS / t.B4_CHRONIC_DAYS
    first = min((when for when, _ in loads), default=None)
    if first is None or at - first < timedelta(days=t.B4_CHRONIC_DAYS) or chronic_weekly <= 0:
        return acute, chronic_weekly, None
    return acute, chronic_weekly, acute / chronic_weekly


def rescan_weekly_means(pain: list[PainPoint], at: datetime) -> tuple[float, float] | None:
    week = timedelta(days=t.R4_TREND_WINDOW_DAYS)
    now = [p.score for p in pain if at - week <= p.at < at + timedelta(microseconds=1)]
    before = [p.score for p in pain if at - 2 * week <= p.at < at - week]
    if not now or not before:
        return None
    return sum(now) / len(now), sum(before) / len(before)


loads = st.lists(
    st.tuples(instants, st.floats(min_value=0, max_value=900, allow_nan=False)), max_size=60
)


@given(loads, instants, instants, st.booleans())
def test_windows_are_what_a_scan_picks(items, start, end, in_time_order):
    items = sorted(items, key=load_at) if in_time_order else items
    timed = TimeOrdered(load_at, items)
    assert timed == items
    assert timed.between(start, end) == [x for x in items if start <= x[0] < end]
    assert timed.after(start, end) == [x for x in items if start < x[0] <= end]
    assert timed.since(start) == [x for x in items if x[0] >= start]
    assert timed.first_instant() == min((x[0] for x in items), default=None)


@given(loads, instants)
def test_the_load_ratio_of_the_kept_windows_is_the_rescanned_one(items, at):
    items = sorted(items, key=load_at)  # the fold appends in the history's order
    timed = TimeOrdered(load_at, items)
    assert acwr(timed, at) == rescan_acwr(items, at)
    assert acwr(items, at) == rescan_acwr(items, at)


@given(st.lists(st.tuples(instants, st.integers(0, 10)), max_size=60), st.lists(instants))
def test_the_pain_trend_of_the_kept_windows_is_the_rescanned_one(reports, asked):
    """Asked after each report and at other instants (the answers are remembered until the
    next report): the same means, and so the same R4/B1 trend, as a rescan."""
    state = State()
    for when, score in sorted(reports):
        state.pain.append(PainPoint(when, score, "during", f"e{len(state.pain)}"))
        for at in [when, *asked]:
            expected = rescan_weekly_means(list(state.pain), at)
            assert weekly_means(state, at) == expected
            trend = expected is not None and expected[0] - expected[1] >= t.R4_TREND_RISE_POINTS
            assert rising(state, at) is trend


def test_a_kept_window_is_only_appended_to():
    timed = TimeOrdered(load_at, [(START, 1.0)])
    with pytest.raises(TypeError):
        timed.insert(0, (START, 2.0))
    with pytest.raises(TypeError):
        timed.pop()
    with pytest.raises(TypeError):
        timed[0] = (START, 3.0)
