"""The planner's scrub of erasures, on fakes: an erasure is noted scrubbed only once its dead
letters are purged and the files scrubbed; a failed round leaves it for the next."""

from collections.abc import Collection
from datetime import UTC, datetime

import pytest

from backtrack_shared.user_key import UserKey
from planner.service_layer.erasure_scrub import ErasureScrub

ANA, BEN = UserKey("acme", "ana"), UserKey("acme", "ben")


class FakeStore:
    def __init__(self, pending: list[UserKey]) -> None:
        self.pending = list(pending)

    def erasures_to_scrub(self) -> list[UserKey]:
        return list(self.pending)

    def erasures_scrubbed(self, users: Collection[UserKey], at: datetime) -> None:
        self.staged = [u for u in self.pending if u not in users]


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __enter__(self) -> "FakeUnitOfWork":
        self.store.staged = list(self.store.pending)
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def commit(self) -> None:
        self.store.pending = self.store.staged


class FakeDeadLetters:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.purged: list[list[UserKey]] = []

    def purge_users(self, user_ids: Collection[UserKey]) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the broker does not answer")
        self.purged.append(sorted(user_ids))
        return len(user_ids)


def scrub_of(store: FakeStore, letters: FakeDeadLetters, scrubbed: list[int]) -> ErasureScrub:
    return ErasureScrub(
        lambda: FakeUnitOfWork(store),  # type: ignore[arg-type, return-value]
        letters,
        lambda: scrubbed.append(1),
        now=lambda: datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_nothing_to_scrub_touches_neither_the_broker_nor_the_files():
    letters, files = FakeDeadLetters(), []
    assert scrub_of(FakeStore([]), letters, files)() == 0
    assert letters.purged == [] and files == []


def test_an_erasure_is_noted_scrubbed_only_after_its_dead_letters_and_files_are():
    store, letters, files = FakeStore([ANA, BEN]), FakeDeadLetters(failures=1), []
    scrub = scrub_of(store, letters, files)
    with pytest.raises(ConnectionError):
        scrub()
    assert store.pending == [ANA, BEN] and files == []  # left for the next round
    assert scrub() == 2
    assert letters.purged == [[ANA, BEN]] and files == [1] and store.pending == []
    assert scrub() == 0
