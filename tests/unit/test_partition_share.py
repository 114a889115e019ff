"""The share of partitions each planner instance holds: pure, on a dictionary of claims."""

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.service_layer.partition_share import moves, target


@given(
    st.integers(1, 64), st.sets(st.text("abcdef", min_size=1, max_size=4), min_size=1, max_size=12)
)
def test_the_targets_add_up_to_every_partition_and_differ_by_at_most_one(partitions, live):
    targets = [target(partitions, sorted(live), me) for me in live]
    assert sum(targets) == partitions
    assert max(targets) - min(targets) <= 1


def tick(claims: dict[int, str | None], partitions: int, live: list[str], me: str) -> None:
    """One balancing turn of `me`, as PartitionedConsumer does it, on a dict of claims."""
    held = {p for p, holder in claims.items() if holder == me}
    free = {p for p, holder in claims.items() if holder is None or holder not in live}
    step = moves(partitions, live, me, held, free)
    for partition in step.release:
        claims[partition] = None
    for partition in step.take:
        if claims[partition] is None or claims[partition] not in live:  # the conditional update
            claims[partition] = me


@settings(max_examples=300)
@given(
    partitions=st.integers(1, 24),
    first=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True),
    then=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True),
    order=st.randoms(use_true_random=False),
)
def test_any_fleet_converges_to_one_holder_per_partition_and_an_even_split(
    partitions, first, then, order
):
    """Instances start, some die and others join (`first`, then `then`), each balancing in any
    order: after a few turns every partition has exactly one live holder, and no instance holds
    more than one partition more than another."""
    claims: dict[int, str | None] = dict.fromkeys(range(partitions))
    for fleet in (sorted(first), sorted(then)):
        for _ in range(4):  # a release in one turn is taken by another in the next
            turn = list(fleet)
            order.shuffle(turn)
            for me in turn:
                tick(claims, partitions, fleet, me)
        holders = list(claims.values())
        assert all(holder in fleet for holder in holders)
        counts = [holders.count(me) for me in fleet]
        assert sum(counts) == partitions
        assert max(counts) - min(counts) <= 1


def test_a_lowered_partition_count_releases_the_partitions_beyond_it():
    assert moves(4, ["a"], "a", held={0, 1, 5}, free={2, 3}).release == (5,)
