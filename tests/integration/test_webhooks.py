"""Signed webhooks for routine.updated, end to end but for the receiving app: events applied by
the planner, its outbox relayed to the real RabbitMQ, the dispatcher consuming its own queue on
the routines exchange and POSTing to real HTTP receivers on loopback, state in PostgreSQL."""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backtrack_shared.broker.publisher import PikaConfirmedPublisher
from backtrack_shared.broker.relay import OutboxRelay
from backtrack_shared.broker.topology import Topology
from backtrack_shared.db import create_database_engine
from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyPlannerReader, SqlAlchemyRoutineOutbox
from planner.webhooks import routines_queue
from planner.webhooks.dispatcher import WebhookDispatcher
from planner.webhooks.policy import Backoff
from planner.webhooks.routines_queue import RoutinesQueueConsumer
from planner.webhooks.sender import Answer, HttpSender, signed_headers
from planner.webhooks.store import DEAD, DELIVERED, SqlAlchemyWebhookStore
from tests.factories import baseline, new_user_id, pain, workout
from tests.support.apps import (
    apply_all,
    as_client,
    feed_after,
    head,
    planner_app,
    traininglog_app,
)
from tests.support.receiver import Receiver
from tests.support.stores import migrated_database_of_its_own
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SAMPLE = Path("/tmp") / "backtrack-webhook-sample.json"


class Running:
    """The dispatcher and its consumer in threads, a relay for the planner's outbox."""

    def __init__(self, engine: Engine, amqp_url: str, topology: Topology, backoff: Backoff) -> None:
        self.store = SqlAlchemyWebhookStore(engine)
        self.dispatcher = WebhookDispatcher(
            self.store,
            HttpSender(timeout_s=30),
            link_base="http://planner.test",
            backoff=backoff,
            workers=4,
        )
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        routines_queue.declare(connection.channel(), topology)  # bound before anything is relayed
        connection.close()
        self.stop = threading.Event()
        consumer = RoutinesQueueConsumer(
            amqp_url, topology, self.dispatcher.accept, trusted_publisher="guest"
        )
        self.threads = [
            threading.Thread(target=consumer.run, args=(self.stop,)),
            threading.Thread(target=self.dispatcher.run, args=(self.stop, 0.05)),
        ]
        for thread in self.threads:
            thread.start()
        self.relay = OutboxRelay(
            SqlAlchemyRoutineOutbox(engine),
            PikaConfirmedPublisher(
                amqp_url, topology, connection_name="test-webhooks", mandatory=False
            ),
            topology.routines_exchange,
        )

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of each test's own: the planner's outbox then holds no other test's routine
    updates for the relay to send to these endpoints."""
    with migrated_database_of_its_own(postgres_url, "webhooks") as engine:
        yield engine


@pytest.fixture
def running(postgres_engine: Engine, amqp_url: str, topology: Topology) -> Iterator[Running]:
    system = Running(postgres_engine, amqp_url, topology, Backoff((0.05, 0.05, 0.05)))
    yield system
    system.close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(answer: Callable[[int], int] = lambda _: 200) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def registered(running: Running) -> Iterator[Callable[[str, Receiver], str]]:
    """Register an endpoint of a client (over the planner's HTTP API); its secret."""
    app: Flask = planner_app(running.store._engine)
    made: list[tuple[str, str]] = []

    def register(client_id: str, receiver: Receiver) -> str:
        endpoint_id = f"ep-{uuid.uuid4().hex[:8]}"
        answer = as_client(app, client_id).put(
            f"/v1/webhooks/endpoints/{endpoint_id}",
            json={"url": receiver.url, "event_types": ["routine.updated"]},
        )
        assert answer.status_code == 201, answer.get_json()
        made.append((client_id, endpoint_id))
        return str(answer.get_json()["secret"])

    yield register
    for client_id, endpoint_id in made:
        running.store.delete_endpoint(client_id, endpoint_id)


def routine_versions(engine: Engine, running: Running, client_id: str, *events: Any) -> str:
    """Post events for a new user of `client_id`, apply them, relay the routine updates."""
    log = traininglog_app(engine)
    user, before = new_user_id(), head(log)
    for make in events:
        assert as_client(log, client_id).post("/v1/events", json=make(user)).status_code == 201
    apply_all(engine, feed_after(log, before))
    running.relay.relay_once()
    return user


def test_a_routine_update_arrives_signed_to_its_tenants_endpoint_alone(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    acme, globex = receivers(), receivers()
    acme_secret = registered("acme", acme)
    registered("globex", globex)
    user = routine_versions(postgres_engine, running, "acme", baseline)
    wait_until(lambda: len(acme.delivered()) == 1)

    headers, body = acme.delivered()[0]
    notification = Webhook(acme_secret).verify(body, headers)
    assert notification["type"] == "routine.updated"
    assert notification["data"]["user_id"] == user
    assert notification["data"]["version"] == 1
    assert notification["data"]["link"] == f"http://planner.test/v1/users/{user}/routine"
    SAMPLE.write_text(json.dumps({"headers": headers, "body": body.decode()}, indent=2))

    # Replayed later, or with its timestamp changed, it no longer verifies.
    stale = datetime.now(UTC) - timedelta(minutes=10)
    replayed = signed_headers(acme_secret, headers["webhook-id"], body.decode(), stale)
    with pytest.raises(WebhookVerificationError):
        Webhook(acme_secret).verify(body, replayed)
    moved = {**headers, "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) + 1)}
    with pytest.raises(WebhookVerificationError):
        Webhook(acme_secret).verify(body, moved)
    with pytest.raises(WebhookVerificationError):  # another client's secret
        Webhook(registered("globex", receivers())).verify(body, headers)

    # globex was verified, and hears nothing of acme's user.
    assert globex.verifications >= 1
    assert globex.notifications == []
    assert running.store.of_client("globex", DELIVERED) == []


def test_a_receiver_down_for_a_while_gets_every_notification_once_it_is_back(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    down_for = 3
    receiver = receivers(lambda n: 503 if n < down_for else 200)
    registered("acme", receiver)
    user = routine_versions(
        postgres_engine, running, "acme", baseline, workout, lambda u: pain(u, score=7)
    )
    versions = SqlAlchemyPlannerReader(postgres_engine).history(UserKey("acme", user))
    assert len(versions) >= 2
    wait_until(lambda: len(running.store.of_client("acme", DELIVERED)) == len(versions))
    delivered = receiver.delivered()
    ids = [h["webhook-id"] for h, _ in delivered]
    assert len(ids) == len(set(ids)) == len(versions)  # each once it was answered 2xx
    assert sorted(json.loads(b)["data"]["version"] for _, b in delivered) == [
        v.version for v in versions
    ]
    assert len(receiver.notifications) == down_for + len(versions)


def tries(outcome: str) -> float:
    """The dispatcher's count of tries with this outcome, as its /metrics says it."""
    return REGISTRY.get_sample_value("planner_webhook_tries_total", {"outcome": outcome}) or 0


def test_after_every_try_a_notification_is_a_dead_letter_to_list_and_redeliver(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    healthy = threading.Event()
    receiver = receivers(lambda _: 200 if healthy.is_set() else 500)
    registered("acme", receiver)
    before = {outcome: tries(outcome) for outcome in ("retry", "dead", "delivered")}
    routine_versions(postgres_engine, running, "acme", baseline)
    app = planner_app(postgres_engine)
    acme = as_client(app, "acme")
    wait_until(lambda: acme.get("/v1/webhooks/dead-letters").get_json()["dead_letters"] != [])
    (dead,) = acme.get("/v1/webhooks/dead-letters").get_json()["dead_letters"]
    assert dead["attempts"] == 4 and dead["last_error"] == "HTTP 500"
    assert len(receiver.notifications) == 4
    assert tries("retry") - before["retry"] == 3 and tries("dead") - before["dead"] == 1
    # Another client neither sees it nor redelivers it.
    assert as_client(app, "globex").get("/v1/webhooks/dead-letters").get_json() == {
        "dead_letters": []
    }
    redeliver = f"/v1/webhooks/dead-letters/{dead['delivery_id']}/redeliver"
    assert as_client(app, "globex").post(redeliver).status_code == 404

    healthy.set()
    assert acme.post(redeliver).status_code == 200
    wait_until(lambda: len(receiver.delivered()) == 1)
    assert receiver.delivered()[0][0]["webhook-id"] == dead["delivery_id"]
    assert running.store.of_client("acme", DEAD) == []
    assert tries("delivered") - before["delivered"] == 1


def test_a_slow_receiver_does_not_hold_up_another(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_answer(_: int) -> int:
        entered.set()
        release.wait(60)
        return 200

    slow, fast = receivers(slow_answer), receivers()
    registered("acme", slow)
    registered("acme", fast)
    routine_versions(postgres_engine, running, "acme", baseline)
    try:
        wait_until(lambda: entered.is_set() and len(fast.delivered()) == 1)
        assert slow.delivered() == []  # still held while the other was served
    finally:
        release.set()
    wait_until(lambda: len(slow.delivered()) == 1)


def test_an_endpoint_that_does_not_answer_the_challenge_gets_nothing(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    receiver = receivers()
    receiver.echo_challenge = False
    registered("acme", receiver)
    routine_versions(postgres_engine, running, "acme", baseline)
    # Tried, refused, tried again; meanwhile the notification waits.
    wait_until(
        lambda: receiver.verifications >= 2 and running.store.of_client("acme", "pending") != []
    )
    assert receiver.notifications == []


def test_an_erased_users_notifications_are_dropped(
    postgres_engine: Engine, running: Running, receivers, registered
) -> None:
    receiver = receivers(lambda _: 500)  # never delivered: they wait, then die
    registered("acme", receiver)
    user = routine_versions(postgres_engine, running, "acme", baseline)
    wait_until(lambda: len(receiver.notifications) >= 1)
    log = traininglog_app(postgres_engine)
    before = head(log)
    assert as_client(log, "ops").delete(f"/v1/users/{user}?owner=acme").status_code == 200
    apply_all(postgres_engine, feed_after(log, before))
    kept = [
        d
        for state in ("pending", DELIVERED, DEAD)
        for d in running.store.of_client("acme", state)
        if d.user_id == user
    ]
    assert kept == []
    # A routine message of theirs still in the queue makes no delivery either.
    running.dispatcher.accept(
        "late-message", {"type": "routine.updated", "tenant": "acme", "user_id": user, "version": 9}
    )
    assert [d for d in running.store.of_client("acme", "pending") if d.user_id == user] == []


# --- several dispatchers on one database ------------------------------------------------------
# Each dispatcher process polls the deliveries due in the database it shares with the others.
# These have no broker: deliveries are made from routine messages directly (`accept`), as the
# consumer of the shared queue makes them in whichever dispatcher the broker hands a message to.


@pytest.fixture
def dispatchers(any_engine: Engine) -> Iterator[Callable[..., list[WebhookDispatcher]]]:
    """Dispatchers on engines of their own (separate connections, as separate processes have),
    each with its options (a sender, a clock); each stopped and its engine closed afterwards."""
    url = any_engine.url.render_as_string(hide_password=False)
    made: list[WebhookDispatcher] = []
    engines: list[Engine] = []

    def make(*options: dict[str, Any]) -> list[WebhookDispatcher]:
        for own in (dict(o) for o in options):
            engines.append(create_database_engine(url))
            made.append(
                WebhookDispatcher(
                    SqlAlchemyWebhookStore(engines[-1]),
                    own.pop("sender", HttpSender(timeout_s=30)),
                    link_base="http://planner.test",
                    workers=4,
                    **own,
                )
            )
        return made[-len(options) :]

    yield make
    for dispatcher in made:
        dispatcher.close()
    for engine in engines:
        engine.dispose()


def verified_endpoint(engine: Engine, dispatcher: WebhookDispatcher, receiver: Receiver) -> None:
    answer = as_client(planner_app(engine), "acme").put(
        f"/v1/webhooks/endpoints/ep-{uuid.uuid4().hex[:8]}",
        json={"url": receiver.url, "event_types": ["routine.updated"]},
    )
    assert answer.status_code == 201
    dispatcher.run_once()
    wait_until(lambda: receiver.verifications == 1)
    store = SqlAlchemyWebhookStore(engine)
    wait_until(lambda: all(e.verified for e in store.endpoints_of("acme")))


def routine_messages(dispatcher: WebhookDispatcher, count: int) -> None:
    user = new_user_id()
    for version in range(1, count + 1):
        message = {"type": "routine.updated", "tenant": "acme", "user_id": user, "version": version}
        assert dispatcher.accept(f"message-{uuid.uuid4()}", message) == 1


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")  # type: ignore[no-any-return]


def test_two_dispatchers_deliver_each_notification_once(
    any_engine: Engine, receivers, dispatchers
) -> None:
    gate = threading.Event()  # the receiver holds every notification until it opens
    receiver = receivers(lambda _: 200 if gate.wait(60) else 503)
    first, second = dispatchers({}, {})
    try:
        verified_endpoint(any_engine, first, receiver)
        routine_messages(first, 12)
        # The first starts what it can while the receiver holds its POSTs; the second, polling
        # meanwhile, finds those still pending in the database.
        assert first.run_once() > 0
        second.run_once()
        gate.set()
        store = SqlAlchemyWebhookStore(any_engine)

        def both_poll() -> bool:
            first.run_once()
            second.run_once()
            return len(store.of_client("acme", DELIVERED)) == 12

        wait_until(both_poll)
    finally:
        gate.set()
        first.close()
        second.close()
    ids = [headers["webhook-id"] for headers, _ in receiver.delivered()]
    assert len(receiver.notifications) == len(ids) == len(set(ids)) == 12


class HangingSender:
    """What a dispatcher killed in the middle of a delivery does: its POST never comes back (until
    the test lets it fail, long after another dispatcher delivered)."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def post(self, *_: Any) -> Answer:
        self.entered.set()
        self.release.wait(60)
        return Answer(False, "came back too late")

    def verify(self, *_: Any) -> Answer:
        return Answer(True)


def test_a_claim_that_lapses_is_delivered_by_another_dispatcher(
    any_engine: Engine, receivers, dispatchers
) -> None:
    receiver, hanging = receivers(), HangingSender()
    now = [time.time()]
    killed, other = dispatchers({"sender": hanging, "claim_s": 30}, {"clock": lambda: now[0]})
    store = SqlAlchemyWebhookStore(any_engine)
    try:
        verified_endpoint(any_engine, other, receiver)
        routine_messages(other, 1)
        assert killed.run_once() == 1
        assert hanging.entered.wait(10)
        assert other.run_once() == 0  # claimed, and the claim holds: nobody else tries it
        now[0] = time.time() + 31  # the claim lapses
        assert other.run_once() == 1
        wait_until(lambda: len(store.of_client("acme", DELIVERED)) == 1)
    finally:
        hanging.release.set()
        killed.close()
        other.close()
    # The dispatcher that came back late records nothing over the delivery.
    assert len(store.of_client("acme", DELIVERED)) == 1
    assert store.of_client("acme", "pending") == store.of_client("acme", DEAD) == []
    assert len(receiver.notifications) == len(receiver.delivered()) == 1
