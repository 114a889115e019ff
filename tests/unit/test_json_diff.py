"""The fault checks' diff of two JSON values: it names a difference exactly when there is one,
and where it is."""

from hypothesis import given
from hypothesis import strategies as st

from tests.support.json_diff import differences

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@given(json_values, json_values)
def test_a_difference_is_named_exactly_when_the_values_differ(a, b):
    assert (differences(a, b) == []) == (a == b)


@given(json_values)
def test_a_value_does_not_differ_from_itself(a):
    assert differences(a, a) == []


def test_the_path_to_the_first_difference_is_named():
    live = {"advice": [{"rule": "F1"}], "blocks": [], "status": "active"}
    replayed = {"advice": [{"rule": "D3"}], "blocks": [], "status": "active"}
    assert differences(live, replayed) == ["/advice[0]/rule: 'F1' != 'D3'"]


def test_a_key_on_one_side_only_is_named():
    assert differences({"a": 1}, {}) == ["/a: 1 != '<absent>'"]
