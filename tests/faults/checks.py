"""What every fault test does around its fault: post events the way a client app would (retrying
what the service asks to retry), wait for the planner to settle, and end with the same three
checks: nothing lost, nothing applied twice, and routines equal to an offline replay.

The events are posted with a client app's key (acme: its users are its own) and checked with the
operator's; /metrics and /readyz need no key."""

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika
import requests
from sqlalchemy import create_engine, func, select

from planner.adapters.projection_store import logged_event
from planner.adapters.tables import planner_events
from planner.domain.versions import replay_versions, routine_now
from tests.e2e.client import metric
from tests.faults.conftest import FaultSystem
from tests.keys import KEYS
from tests.support.json_diff import differences
from traininglog.adapters.tables import event_outbox, events

APPLIED = ("routine_changed", "routine_unchanged")
NOT_ROUTINE = {"user_id", "version", "applied_position", "as_of"}
CLIENT = KEYS.header("acme")  # the app posting its users' events
OPERATOR = KEYS.header("ops")  # the checks read every user's stream, routine and audit
# (naming the owner, acme: a user id is its client's own)


@dataclass
class Posted:
    """What the clients were told: every answer's status, and the events finally accepted."""

    accepted: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_answers: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    retried_batches: list[dict[str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)


def post_batch(url: str, chunk: list[dict[str, Any]], posted: Posted, deadline_s: float) -> None:
    """POST one batch until it is answered 200, retrying on 503 as Retry-After asks. Any other
    answer fails the test: a 500 or a half-written batch is exactly what must not happen."""
    deadline = time.monotonic() + deadline_s
    retried = False
    while True:
        try:
            answer = requests.post(
                f"{url}/v1/events/batch", json={"events": chunk}, headers=CLIENT, timeout=60
            )
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
            retried = True
            continue
        with posted._lock:
            posted.statuses[answer.status_code] += 1
        if answer.status_code == 503:
            with posted._lock:
                posted.unavailable_answers.append(
                    (answer.json(), answer.headers.get("Retry-After"))
                )
            if time.monotonic() > deadline:
                raise AssertionError("still 503 at the deadline")
            time.sleep(min(float(answer.headers.get("Retry-After", 1)), 0.5))
            retried = True
            continue
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        body = answer.json()
        counts = body["counts"]
        assert counts["stored"] + counts["duplicate"] == len(chunk), body["counts"]
        with posted._lock:
            posted.accepted.update(result["event_id"] for result in body["results"])
            if retried:
                posted.retried_batches.append(counts)
        return


def post_all(
    system: FaultSystem,
    documents: Sequence[dict[str, Any]],
    *,
    threads: int = 4,
    batch_size: int = 100,
    posted: Posted | None = None,
    deadline_s: float = 300,
) -> Posted:
    posted = posted if posted is not None else Posted()
    chunks = [list(documents[i : i + batch_size]) for i in range(0, len(documents), batch_size)]
    url = system.traininglog.url
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda chunk: post_batch(url, chunk, posted, deadline_s), chunks))
    return posted


def count_rows(system: FaultSystem, table: Any, users: Sequence[str] | None = None) -> int:
    engine = create_engine(system.database_of(table.name))
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(table)
            if users is not None:
                query = query.where(table.c.user_id.in_(list(users)))
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def _running_planners(system: FaultSystem) -> list[Any]:
    return [planner for planner in system.planners if planner.process.poll() is None]


def applied_metric(system: FaultSystem) -> float:
    """Events applied, summed over the planner processes running now."""
    return sum(
        metric(planner.url, "planner_events_total", outcome=outcome)
        for planner in _running_planners(system)
        for outcome in APPLIED
    )


def duplicate_metric(system: FaultSystem) -> float:
    return sum(
        metric(planner.url, "planner_events_total", outcome="duplicate")
        for planner in _running_planners(system)
    )


@dataclass
class PlannerLedger:
    """The planner's applied-events counter lives in its process: a SIGKILL takes it away. So
    the ledger keeps, for the planner process running now, the counter and the applied rows of
    the test's users when it was taken; the check compares what both grew by since then.
    Duplicates are summed over every process that was read before it ended."""

    users: Sequence[str]
    metric_at_start: float = 0.0
    rows_at_start: int = 0
    duplicates_before: float = 0.0
    # False once one planner of several was killed while the others applied: what it counted
    # since the ledger was read died with it, so the counters no longer add up to the events.
    # Then "applied once" rests on one row per event and the routines equal to the replay.
    counted_exactly: bool = True

    @classmethod
    def taken(cls, system: FaultSystem, users: Sequence[str]) -> "PlannerLedger":
        ledger = cls(users)
        ledger.metric_at_start = applied_metric(system)
        ledger.rows_at_start = count_rows(system, planner_events, users)
        return ledger

    def planner_killed(self, system: FaultSystem) -> None:
        """Call after the planner died and before it is started again: the new process counts
        from 0, over what is not yet applied now (nothing applies while it is down)."""
        assert system.planner.process.poll() is not None
        self.metric_at_start = 0.0
        self.rows_at_start = count_rows(system, planner_events, self.users)

    def fleet_member_killed(self) -> None:
        self.counted_exactly = False

    def duplicates(self, system: FaultSystem) -> float:
        return self.duplicates_before + duplicate_metric(system)


def queue_depth(system: FaultSystem, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(system.amqp_url))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


@dataclass
class Settled:
    """How long the planner took to settle, and the lag its /readyz reported meanwhile."""

    seconds: float = 0.0
    max_queue_depth: int = 0
    max_feed_lag: int = 0
    ready_while_lagging: int = 0  # /readyz answers 200 with a feed lag above 0
    readiness: Counter[int] = field(default_factory=Counter)

    def sample(self, system: FaultSystem) -> None:
        try:
            answer = requests.get(f"{system.planner.url}/readyz", timeout=10)
        except requests.RequestException:
            return
        self.readiness[answer.status_code] += 1
        details = answer.json().get("details", {})
        depth, lag = details.get("queue_depth") or 0, details.get("feed_lag") or 0
        self.max_queue_depth = max(self.max_queue_depth, depth)
        self.max_feed_lag = max(self.max_feed_lag, lag)
        if answer.status_code == 200 and lag > 0:
            self.ready_while_lagging += 1


def wait_settled(
    system: FaultSystem, users: Sequence[str], expected: int, timeout_s: float = 300
) -> Settled:
    """Wait until the planner applied `expected` events of `users`, traininglog's outbox is
    empty and the planner's queue drained, sampling the planner's /readyz meanwhile."""
    started = time.monotonic()
    deadline = started + timeout_s
    settled = Settled()
    while time.monotonic() < deadline:
        settled.sample(system)
        applied = count_rows(system, planner_events, users)
        if (
            applied >= expected
            and count_rows(system, event_outbox) == 0
            and all(queue_depth(system, q) == 0 for q in system.topology.partition_queues)
        ):
            settled.seconds = time.monotonic() - started
            return settled
        time.sleep(1)
    raise AssertionError(
        f"not settled in {timeout_s}s: applied {count_rows(system, planner_events, users)} of "
        f"{expected}, outbox {count_rows(system, event_outbox)}\n{system.logs()}"
    )


def user_stream(system: FaultSystem, user_id: str) -> list[dict[str, Any]]:
    stream: list[dict[str, Any]] = []
    after = 0
    while True:
        page = requests.get(
            f"{system.traininglog.url}/v1/users/{user_id}/events",
            params={"owner": "acme", "after_version": after, "limit": 1000},
            headers=OPERATOR,
            timeout=30,
        ).json()
        stream += page["events"]
        if page["next_after_version"] is None:
            return stream
        after = page["next_after_version"]


def assert_routine_replays(system: FaultSystem, user_id: str) -> None:
    """The live routine equals an offline replay of the user's stream (traininglog's, in
    position order) read at the same instant.

    The same instant, because a routine is two things (DOMAIN.md, December 2026: "time-dependent
    output is computed at the instant asked"). Its prescriptions are the last version's, made by
    events at the instant of the latest event; its advice, weekly plan and goals are computed at
    the instant it is read (now, for the live routine). A replay's last version holds them as of
    its event, weeks before now in these workloads, so comparing it with the live routine as is
    compares F1's "sessions in the last 7 days" and the week ahead at two different instants:
    they differ while nothing is wrong. So the replay is read the way the planner reads its
    current version (`routine_now`), at the instants just before and just after the request: the
    live answer must equal one of them (they differ only when a day boundary falls inside the
    request). Nothing else is left out: every prescription, its provenance (`based_on`), the
    status, the version number (a duplicate applied would add one) and the applied position."""
    stream = sorted(user_stream(system, user_id), key=lambda envelope: envelope["position"])
    history = [logged_event(envelope) for envelope in stream]
    replayed = replay_versions(history)
    assert replayed, f"{user_id}: the replay made no version"
    before = datetime.now(UTC)
    answer = requests.get(
        f"{system.planner.url}/v1/users/{user_id}/routine?owner=acme",
        headers=OPERATOR,
        timeout=30,
    )
    after = datetime.now(UTC)
    assert answer.status_code == 200, (user_id, answer.status_code)
    live = answer.json()
    routine = {k: v for k, v in live.items() if k not in NOT_ROUTINE}
    expected = [routine_now(replayed[-1], history, instant) for instant in (before, after)]
    assert routine in expected, (
        f"{user_id}: routine differs (live != replayed at the instant read): "
        + "; ".join(differences(routine, expected[0]))
    )
    assert live["version"] == replayed[-1].version, (user_id, live["version"], len(replayed))
    assert live["as_of"] == replayed[-1].as_of.isoformat(), (user_id, live["as_of"])
    assert live["applied_position"] == stream[-1]["position"], user_id


@dataclass(frozen=True)
class Figures:
    stored: int
    applied: int
    applied_counted: float
    duplicates: float
    dead_letters: int


def assert_nothing_lost_nothing_twice(
    system: FaultSystem,
    users: Sequence[str],
    accepted: set[str],
    ledger: PlannerLedger,
    *,
    report: Callable[[str], None] = print,
) -> Figures:
    """The three checks every fault test ends with, once the system settled."""

    def event_ids(table: Any) -> list[str]:
        engine = create_engine(system.database_of(table.name))
        try:
            with engine.connect() as connection:
                query = select(table.c.event_id).where(table.c.user_id.in_(list(users)))
                return [event_id for (event_id,) in connection.execute(query)]
        finally:
            engine.dispose()

    stored_ids, applied_ids = event_ids(events), event_ids(planner_events)

    # (1) Every accepted event is in traininglog's store, exactly once, and nothing else is.
    assert len(stored_ids) == len(set(stored_ids)), "an event_id is stored twice"
    assert set(stored_ids) == accepted, (
        f"stored {len(stored_ids)}, accepted {len(accepted)}: "
        f"missing {len(accepted - set(stored_ids))}, unexpected {len(set(stored_ids) - accepted)}"
    )

    # (2) The planner applied each exactly once: one row per event, and its counter of applied
    # events grew by exactly the events it applied; repeats count only as duplicates.
    assert len(applied_ids) == len(set(applied_ids))
    assert set(applied_ids) == accepted, (
        f"applied {len(applied_ids)} of {len(accepted)}\n{system.planner.logs()}"
    )
    counted = applied_metric(system) - ledger.metric_at_start
    if ledger.counted_exactly:
        assert counted == len(accepted) - ledger.rows_at_start, (
            f"planner counted {counted} applications for "
            f"{len(accepted) - ledger.rows_at_start} events"
        )
    dead_letters = queue_depth(system, system.topology.dead_letter_queue)
    assert dead_letters == 0, "a good event was dead-lettered"

    # (3) Each user's routine is what an offline replay of their stream gives, read at the same
    # instant, and the planner's own audit reproduces its recorded versions.
    for user_id in users:
        assert_routine_replays(system, user_id)
        audit = requests.get(
            f"{system.planner.url}/v1/users/{user_id}/audit?owner=acme",
            headers=OPERATOR,
            timeout=60,
        ).json()
        assert audit["reproduced"], (user_id, [v for v in audit["versions"] if not v["identical"]])

    figures = Figures(
        stored=len(stored_ids),
        applied=len(applied_ids),
        applied_counted=counted,
        duplicates=ledger.duplicates(system),
        dead_letters=dead_letters,
    )
    report(f"checks passed: {figures}")
    return figures
