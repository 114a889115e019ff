"""The service layer's batch application on an in-memory store: what a batch holds is sorted
out, its users folded, and the result saved, in one unit of work. (The real store's behaviour is
held by tests/integration/test_planner_apply.py; this is the service layer's logic alone.)"""

from collections import defaultdict
from typing import Any

from backtrack_shared.user_key import UserKey, key_of
from planner.adapters.projection_store import UserState, logged_event
from planner.domain.versions import RoutineVersion
from planner.service_layer.apply import Applied, apply_events
from planner.service_layer.folds import RoutineFolds
from tests.factories import baseline, new_user_id, pain, workout


class InMemoryStore:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.states: dict[UserKey, UserState] = {}
        self.versions: dict[UserKey, list[RoutineVersion]] = defaultdict(list)
        self.set_aside_events: dict[UserKey, list[Any]] = defaultdict(list)
        self.outbox: list[Any] = []
        self.checkpoints: dict[str, int] = {}

    # --- what a batch is sorted out against
    def lock_users(self, users: Any, rebuilding: bool = False) -> None:
        list(users)

    def erased(self, pairs: Any) -> set[UserKey]:
        list(pairs)
        return set()

    def erase(self, *_: Any) -> None:
        raise AssertionError("no erasures here")

    def known_event_ids(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        stored = {(e["tenant"], e["event_id"]) for e in self.events}
        return {key for key in keys if key in stored}

    def users(self, users: set[UserKey]) -> dict[UserKey, UserState]:
        return {u: self.states[u] for u in users if u in self.states}

    def current_versions(self, states: Any) -> dict[UserKey, RoutineVersion]:
        return {s.user: self.versions[s.user][-1] for s in states if self.versions.get(s.user)}

    def unapplied(self, users: set[UserKey]) -> dict[UserKey, list[Any]]:
        return {u: list(self.set_aside_events[u]) for u in users if self.set_aside_events.get(u)}

    def history(self, user: UserKey) -> list[Any]:
        return [logged_event(e) for e in self.events if key_of(e) == user]

    # --- what saving a batch writes
    def add_events(self, envelopes: list[dict[str, Any]]) -> None:
        self.events += envelopes

    def set_aside(self, user: UserKey, unapplied: list[Any]) -> None:
        self.set_aside_events[user] += unapplied

    def absorb_access_changes(self, envelopes: list[dict[str, Any]]) -> None:
        pass

    def add_routine_versions(self, versions: list[RoutineVersion]) -> None:
        for version in versions:
            self.versions[version.user].append(version)

    def add_to_outbox(self, messages: list[Any]) -> None:
        self.outbox += messages

    def save_users(self, states: list[UserState], new_user_ids: set[UserKey]) -> None:
        for state in states:
            self.states[state.user] = state

    def set_checkpoint(self, name: str, position: int) -> None:
        self.checkpoints[name] = position


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.commits = 0

    def __enter__(self) -> "InMemoryUnitOfWork":
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1


def stored(documents: list[dict[str, Any]], tenant: str = "acme") -> list[dict[str, Any]]:
    """Documents as the feed hands them out: a position in the log and a version per stream."""
    versions: dict[str, int] = defaultdict(int)
    out = []
    for position, document in enumerate(documents, start=1):
        versions[document["user_id"]] += 1
        stream_version = versions[document["user_id"]]
        out.append(
            {**document, "tenant": tenant, "position": position, "stream_version": stream_version}
        )
    return out


def test_a_batch_of_two_users_is_one_unit_of_work_with_a_version_and_message_each():
    ana, ben = new_user_id(), new_user_id()
    batch = stored([baseline(ana), baseline(ben), workout(ana), workout(ben)])
    uow = InMemoryUnitOfWork(InMemoryStore())
    results = apply_events(lambda: uow, batch, folds=RoutineFolds(), checkpoint=("feed", 4))  # type: ignore[arg-type, return-value]
    assert uow.commits == 1
    assert [r.outcome for r in results[:2]] == [Applied.ROUTINE_CHANGED] * 2
    store = uow.store
    assert store.events == batch
    assert {u.user_id for u in store.versions} == {ana, ben}
    assert len(store.outbox) == sum(len(v) for v in store.versions.values())
    assert {u.user_id: s.applied_position for u, s in store.states.items()} == {ana: 3, ben: 4}
    assert store.checkpoints == {"feed": 4}


def test_an_event_seen_before_is_a_duplicate_and_stored_once():
    ana = new_user_id()
    first = stored([baseline(ana)])
    uow = InMemoryUnitOfWork(InMemoryStore())
    apply_events(lambda: uow, first)  # type: ignore[arg-type, return-value]
    (again,) = apply_events(lambda: uow, first)  # type: ignore[arg-type, return-value]
    assert again.outcome is Applied.DUPLICATE
    assert len(uow.store.events) == 1


def test_an_event_the_rules_cannot_fold_is_set_aside_and_pauses_the_routine():
    ana = new_user_id()
    broken = pain(ana, score=3)
    broken["payload"]["score"] = "three"  # past validation, not past the rules
    uow = InMemoryUnitOfWork(InMemoryStore())
    results = apply_events(lambda: uow, stored([baseline(ana), broken]))  # type: ignore[arg-type, return-value]
    assert [r.outcome for r in results] == [Applied.ROUTINE_CHANGED, Applied.SET_ASIDE]
    (user,) = uow.store.set_aside_events
    assert [a.event_id for a in uow.store.set_aside_events[user]] == [broken["event_id"]]
    assert uow.store.versions[user][-1].routine["status"] == "paused"


def test_one_batch_makes_the_versions_that_one_event_a_batch_makes():
    ana = new_user_id()
    events = stored(
        [baseline(ana), workout(ana, day=1), pain(ana, score=2, day=1), workout(ana, day=3)]
    )
    together, alone = InMemoryUnitOfWork(InMemoryStore()), InMemoryUnitOfWork(InMemoryStore())
    apply_events(lambda: together, events, folds=RoutineFolds())  # type: ignore[arg-type, return-value]
    for envelope in events:
        apply_events(lambda: alone, [envelope])  # type: ignore[arg-type, return-value]
    made = [[v.as_json() for v in vs] for vs in together.store.versions.values()]
    assert made == [[v.as_json() for v in vs] for vs in alone.store.versions.values()]
    assert made and made[0]
