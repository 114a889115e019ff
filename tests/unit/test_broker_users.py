"""The broker users' permissions name exactly what each declares, writes and reads, in any
namespace, and a tenant's subscriber reads its own routine updates alone. RabbitMQ matches these
expressions as Erlang's re (PCRE) does; the ones here mean the same in Python's re."""

import re

from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared.auth.keys import CLIENT_ID_PATTERN
from backtrack_shared.broker.cli import create_service_users
from backtrack_shared.broker.setup import (
    BrokerSetupError,
    Rabbitmqctl,
    _Recorder,
    password_hash,
    password_matches,
    with_passwords,
)
from backtrack_shared.broker.topology import Topology, routine_routing_key
from backtrack_shared.broker.users import (
    BrokerUser,
    planner_user,
    tenant_subscriber,
    traininglog_user,
)
from backtrack_shared.contracts.registry import EVENT_TYPES

namespaces = st.from_regex(r"\A[a-z][a-z0-9.-]{0,20}\Z")
tenants = st.from_regex(CLIENT_ID_PATTERN.pattern.replace("^", r"\A").replace("$", r"\Z"))


def matches(regex: str, name: str) -> bool:
    return re.search(regex, name) is not None


def declared(topology: Topology) -> _Recorder:
    recorder = _Recorder("/")
    topology.declare(recorder)  # type: ignore[arg-type]
    return recorder


def every_name(topology: Topology, tenant: str) -> set[str]:
    recorder = declared(topology)
    names = {e["name"] for e in recorder.exchanges} | {q["name"] for q in recorder.queues}
    prefix = topology.subscriber_queue_prefix(tenant)
    return names | {
        "amq.default",
        "amq.topic",
        f"{prefix}routines",
        f"{topology.subscriber_queue_prefix(tenant + 'x')}routines",
        f"other.{topology.events_exchange}",
        f"{topology.events_exchange}.more",
    }


@given(namespace=namespaces, tenant=tenants)
def test_traininglog_declares_and_writes_the_events_exchange_alone_and_reads_nothing(
    namespace: str, tenant: str
):
    topology = Topology(namespace)
    user = traininglog_user("tl", topology)
    for name in every_name(topology, tenant):
        events = name == topology.events_exchange
        assert matches(user.permissions.configure, name) == events, name
        assert matches(user.permissions.write, name) == events, name
        assert not matches(user.permissions.read, name), name
    (topic,) = user.topic_permissions
    assert topic.exchange == topology.events_exchange
    assert all(matches(topic.write, t) for t in EVENT_TYPES)
    assert not any(matches(topic.write, k) for k in ("#", "routine.updated", "pain.reportedx"))


@given(namespace=namespaces, tenant=tenants)
def test_the_planner_declares_all_it_owns_and_writes_no_event(namespace: str, tenant: str):
    topology = Topology(namespace)
    user = planner_user("pl", topology)
    recorder = declared(topology)
    owned = {e["name"] for e in recorder.exchanges} | {q["name"] for q in recorder.queues}
    for name in every_name(topology, tenant):
        assert matches(user.permissions.configure, name) == (name in owned), name
    # Every binding it makes: write on the queue, read on the exchange.
    for binding in recorder.bindings:
        assert matches(user.permissions.write, binding["destination"])
        assert matches(user.permissions.read, binding["source"])
    assert not matches(user.permissions.write, topology.events_exchange)
    assert not matches(user.permissions.read, f"{topology.subscriber_queue_prefix(tenant)}q")
    topics = {t.exchange: t for t in user.topic_permissions}
    # The webhook dispatcher binds its own queue to every tenant's routine updates, and no more.
    assert matches(user.permissions.configure, topology.webhook_queue)
    assert matches(user.permissions.write, topology.webhook_queue)
    assert matches(user.permissions.read, topology.routines_exchange)
    assert matches(topics[topology.routines_exchange].read, "routine.updated.*")
    assert not matches(topics[topology.routines_exchange].read, "#")
    assert matches(topics[topology.routines_exchange].write, routine_routing_key(tenant))
    assert not matches(topics[topology.routines_exchange].write, "routine.updated.a.b")
    assert topics[topology.events_exchange].read == "^(\\#)$"


@given(namespace=namespaces, tenant=tenants, other=tenants)
def test_a_tenants_subscriber_reads_its_own_routine_updates_alone(
    namespace: str, tenant: str, other: str
):
    topology = Topology(namespace)
    user = tenant_subscriber("app", topology, tenant)
    (topic,) = user.topic_permissions
    assert topic.exchange == topology.routines_exchange
    assert matches(topic.read, routine_routing_key(tenant))
    assert matches(topic.read, routine_routing_key(other)) == (other == tenant)
    for key in ("#", "routine.updated", "routine.updated.*", f"routine.updated.{tenant}.#"):
        assert not matches(topic.read, key)
    assert not matches(user.permissions.write, topology.routines_exchange)
    own = f"{topology.subscriber_queue_prefix(tenant)}routines"
    theirs = f"{topology.subscriber_queue_prefix(other)}routines"
    for permission in (user.permissions.configure, user.permissions.write):
        assert matches(permission, own)
        assert matches(permission, theirs) == (other == tenant)
        assert not matches(permission, topology.partition_queue(0))
    assert not matches(user.permissions.read, topology.partition_queue(3))
    assert not matches(user.permissions.read, topology.events_exchange)


def test_a_tenant_is_a_client_id():
    try:
        tenant_subscriber("app", Topology(), "a.b")
    except ValueError as err:
        assert "client id" in str(err)
    else:
        raise AssertionError("a dotted tenant would span topic words")


@given(st.text(min_size=1, max_size=40))
def test_a_password_hash_verifies_its_password_and_no_other(password: str):
    hashed = password_hash(password)
    assert password_matches(password, hashed)
    assert not password_matches(password + "x", hashed)


def test_sealing_refuses_a_user_without_a_password():
    document = {"users": [{"name": "planner", "tags": []}]}
    try:
        with_passwords(document, {"traininglog": "x"})
    except BrokerSetupError as err:
        assert "planner" in str(err)
    else:
        raise AssertionError("a user without a password was sealed")


class RecordingCtl:
    def __init__(self) -> None:
        self.put: list[tuple[BrokerUser, str]] = []

    def put_user(self, user: BrokerUser, password: str) -> None:
        self.put.append((user, password))


def test_the_setup_script_reads_each_services_url_and_skips_guest():
    ctl = RecordingCtl()
    said = create_service_users(
        {
            "TRAININGLOG_AMQP_URL": "amqp://tl:s%40cret@127.0.0.1:5672/app",
            "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
            "BROKER_NAMESPACE": "ns",
        },
        ctl,  # type: ignore[arg-type]
    )
    ((user, password),) = ctl.put
    assert (user.name, user.vhost, password) == ("tl", "app", "s@cret")
    assert user == traininglog_user("tl", Topology("ns"), vhost="app")
    assert any("planner connects as guest" in line for line in said)


def test_the_setup_script_refuses_one_user_for_both_services():
    url = "amqp://both:x@127.0.0.1:5672/%2F"
    try:
        create_service_users({"AMQP_URL": url}, RecordingCtl())  # type: ignore[arg-type]
    except BrokerSetupError as err:
        assert "both connect as both" in str(err)
    else:
        raise AssertionError("one broker user for both services was accepted")


def test_rabbitmqctl_waits_for_a_restarting_broker_and_not_for_a_refusal(tmp_path):
    """A stand-in for rabbitmqctl: says the rabbit app is down twice, then answers."""
    calls = tmp_path / "calls"
    script = tmp_path / "ctl"
    script.write_text(
        "#!/bin/sh\n"
        f"echo x >> {calls}\n"
        f'[ "$(wc -l < {calls})" -gt 2 ] && exit 0\n'
        "echo \"Error: this command requires the 'rabbit' app to be running\" >&2; exit 69\n"
    )
    script.chmod(0o755)
    ctl = Rabbitmqctl((str(script),), wait_for_broker_s=30)
    assert ctl.delete_user("someone")
    assert len(calls.read_text().splitlines()) == 3
    refusing = tmp_path / "refuse"
    refusing.write_text("#!/bin/sh\necho 'Error: something else' >&2; exit 70\n")
    refusing.chmod(0o755)
    try:
        Rabbitmqctl((str(refusing),), wait_for_broker_s=30).delete_user("someone")
    except BrokerSetupError as err:
        assert "something else" in str(err)
    else:
        raise AssertionError("a refusal was taken for success")
