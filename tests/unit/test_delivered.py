"""Where a batch of delivered events is cut: before an event that skips versions of its user's
stream after an earlier event of theirs in the batch."""

from planner.service_layer.delivered import runs_without_gaps


def delivered(*events: tuple[str, int], tenant: str = "acme") -> list[dict]:
    return [
        {"tenant": tenant, "user_id": user, "stream_version": version} for user, version in events
    ]


def versions(runs: list[list[dict]]) -> list[list[tuple[str, int]]]:
    return [[(e["user_id"], e["stream_version"]) for e in run] for run in runs]


def test_a_batch_without_gaps_is_one_run_whatever_its_users_last_stored_version():
    batch = delivered(("ana", 7), ("ben", 1), ("ana", 8), ("ben", 2), ("ana", 9))
    assert versions(runs_without_gaps(batch)) == [versions([batch])[0]]


def test_duplicates_and_earlier_versions_do_not_cut():
    batch = delivered(("ana", 3), ("ana", 3), ("ana", 2), ("ana", 4))
    assert len(runs_without_gaps(batch)) == 1


def test_a_gap_inside_the_batch_starts_a_new_run():
    batch = delivered(("ana", 1), ("ben", 4), ("ana", 3), ("ben", 5), ("ana", 4), ("ben", 7))
    assert versions(runs_without_gaps(batch)) == [
        [("ana", 1), ("ben", 4)],
        [("ana", 3), ("ben", 5), ("ana", 4)],
        [("ben", 7)],
    ]


def test_nothing_delivered_is_no_run():
    assert runs_without_gaps([]) == []


def test_two_clients_users_of_one_id_are_two_streams():
    """acme's ana at 1 then globex's ana at 5: no gap, globex's ana is another user."""
    batch = delivered(("ana", 1)) + delivered(("ana", 5), tenant="globex") + delivered(("ana", 2))
    assert len(runs_without_gaps(batch)) == 1
