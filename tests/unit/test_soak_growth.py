"""The soak's verdict (bench/growth.py): a bounded series with noise is not called growing; a
steady leak is; the warm-up third is not judged."""

from hypothesis import given
from hypothesis import strategies as st

from bench.growth import judge, slope

minutes = st.integers(min_value=6, max_value=60)
levels = st.floats(min_value=0, max_value=10_000)


@given(minutes, levels, st.data())
def test_a_flat_series_with_noise_below_the_floor_is_bounded(
    count: int, level: float, data: st.DataObject
) -> None:
    floor = 10.0
    noise = data.draw(st.lists(st.floats(-floor / 2, floor / 2), min_size=count, max_size=count))
    verdict = judge("series", [level + wobble for wobble in noise], floor)
    assert not verdict.grew


@given(
    st.integers(min_value=30, max_value=60),
    st.floats(min_value=0, max_value=1000),
    st.floats(min_value=10, max_value=100),
)
def test_a_steady_leak_grows(count: int, level: float, per_minute: float) -> None:
    # At least 10 a minute over 20 judged minutes: more than 10% of a level of at most 1000
    # plus what the leak added by then.
    values = [level + per_minute * minute for minute in range(count)]
    assert judge("series", values, floor=1).grew


def test_the_warm_up_third_is_not_judged() -> None:
    warming = [0.0, 500.0, 1000.0] + [1000.0] * 6
    assert not judge("rss", warming, 5).grew
    assert judge("rss", list(range(0, 900, 100)), 5).grew


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50), st.floats(-1e3, 1e3))
def test_slope_of_a_line_is_its_slope(values: list[float], per_minute: float) -> None:
    line = [3.0 + per_minute * minute for minute in range(len(values))]
    assert abs(slope(line) - per_minute) < 1e-6 * max(1.0, abs(per_minute))
