"""The deployment files agree with the code they deploy.

No Docker engine is needed: these tests read docker-compose.yml, deploy/Dockerfile, the RabbitMQ
definitions and the PostgreSQL init script, and compare them with the services' settings, the
broker topology and the console scripts the pyprojects declare.
"""

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from backtrack_shared.broker.cli import main as broker_main
from backtrack_shared.broker.setup import definitions as expected_definitions
from backtrack_shared.broker.setup import password_matches
from backtrack_shared.broker.topology import Topology
from backtrack_shared.broker.users import planner_user, traininglog_user
from planner.config import Settings as PlannerSettings
from traininglog.config import Settings as TraininglogSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEFINITIONS_FILE = ROOT / "deploy" / "rabbitmq" / "definitions.json"
RABBITMQ_CONF = ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"
ENABLED_PLUGINS = ROOT / "deploy" / "rabbitmq" / "enabled_plugins"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"

APP_SETTINGS = {"traininglog": TraininglogSettings, "planner": PlannerSettings}
INFRA_SERVICES = ("rabbitmq", "postgres")
# What `docker compose up` would be given in the environment: the broker users' passwords.
COMPOSE_VARIABLES = {
    "TRAININGLOG_BROKER_PASSWORD": "tl-test-password",
    "PLANNER_BROKER_PASSWORD": "pl-test-password",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, as `docker compose` resolves them."""

    def resolve(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if variables.get(name):
            return variables[name]
        if kind == "?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return _VARIABLE.sub(resolve, value.replace("$$", "\0")).replace("\0", "$")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return json.loads(DEFINITIONS_FILE.read_text())


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def environment(
    svc: dict[str, Any], variables: dict[str, str] = COMPOSE_VARIABLES
) -> dict[str, str]:
    """A compose `environment` (mapping or KEY=VALUE list) as the container would see it."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        env = {key: (value[0] if value else "") for key, *value in pairs}
    return {
        str(key): "" if value is None else interpolate(str(value), variables)
        for key, value in env.items()
    }


def settings_of(compose: dict[str, Any], name: str) -> Any:
    return APP_SETTINGS[name].from_env(environment(service(compose, name)))


def container_ports(svc: dict[str, Any]) -> list[tuple[int, int]]:
    """(published, target) for each entry of `ports`, short or long syntax."""
    result = []
    for entry in svc.get("ports", []):
        if isinstance(entry, dict):
            result.append((int(entry["published"]), int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        target = int(parts[-1])
        # A range ("8002-8003:8002") publishes each replica on a port of its own: the first.
        published = int(parts[-2].split("-")[0]) if len(parts) >= 2 else target
        result.append((published, target))
    return result


def volume_mounts(svc: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path, for the bind mounts of a service."""
    mounts = {}
    for entry in svc.get("volumes", []):
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts[entry["target"]] = (ROOT / entry["source"]).resolve()
            continue
        source, target, *_ = str(entry).split(":")
        if source.startswith((".", "/")):
            mounts[target] = (ROOT / source).resolve()
    return mounts


def healthcheck_command(svc: dict[str, Any]) -> str:
    test = svc["healthcheck"]["test"]
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), f"unexpected healthcheck form {test!r}"
    return " ".join(test[1:])


def scripts_of(name: str) -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text())
    return pyproject["project"]["scripts"]


def dockerfile_of(compose: dict[str, Any], name: str) -> Path:
    build = service(compose, name)["build"]
    context = (ROOT / build.get("context", ".")).resolve()
    return (context / build.get("dockerfile", "Dockerfile")).resolve()


def dockerfile_stages(path: Path) -> dict[str, dict[str, Any]]:
    """Stage name -> {"from": parent, "instructions": [(KEYWORD, args)]} for a Dockerfile."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for index, line in enumerate(logical):
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"#{index}"
            current = {"from": words[0], "instructions": []}
            stages[name] = current
        elif current is not None:
            current["instructions"].append((keyword, args.strip()))
    return stages


def stage_chain(stages: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The stage and its ancestors within the same Dockerfile, base first."""
    chain = []
    while name in stages:
        chain.insert(0, stages[name])
        name = stages[name]["from"]
    return chain


def instructions(chain: list[dict[str, Any]], keyword: str) -> list[str]:
    return [args for stage in chain for kw, args in stage["instructions"] if kw == keyword]


def init_sql_objects() -> tuple[dict[str, str], dict[str, str]]:
    """(roles -> password, databases -> owner) created by deploy/postgres/init.sql."""
    sql = INIT_SQL.read_text()
    roles = dict(
        re.findall(
            r"CREATE\s+(?:ROLE|USER)\s+(\w+)\s+[^;]*?PASSWORD\s+'([^']*)'", sql, re.IGNORECASE
        )
    )
    databases = {}
    for name, owner in re.findall(
        r"CREATE\s+DATABASE\s+(\w+)(?:\s+OWNER\s+(\w+))?", sql, re.IGNORECASE
    ):
        databases[name] = owner
    return roles, databases


class RecordingChannel:
    """Stands in for a pika channel: records what Topology.declare asks the broker for."""

    def __init__(self) -> None:
        self.exchanges: dict[str, tuple[str, bool]] = {}
        self.queues: dict[str, tuple[bool, dict[str, Any]]] = {}
        self.bindings: set[tuple[str, str, str]] = set()
        self.exchange_bindings: set[tuple[str, str, str]] = set()
        self.exchange_arguments: dict[str, dict[str, Any]] = {}

    def exchange_declare(
        self, exchange, exchange_type="direct", durable=False, arguments=None, **_
    ):
        self.exchanges[exchange] = (str(exchange_type), durable)
        self.exchange_arguments[exchange] = dict(arguments or {})

    def exchange_bind(self, destination, source, routing_key="", **_):
        self.exchange_bindings.add((source, destination, routing_key))

    def queue_declare(self, queue, durable=False, arguments=None, **_):
        self.queues[queue] = (durable, dict(arguments or {}))

    def queue_bind(self, queue, exchange, routing_key=None, **_):
        # pika binds with the queue name when no routing key is given.
        self.bindings.add((exchange, queue, queue if routing_key is None else routing_key))


def declared_topology(compose: dict[str, Any]) -> RecordingChannel:
    planner = settings_of(compose, "planner")
    channel = RecordingChannel()
    Topology(namespace=planner.broker_namespace).declare(channel)
    return channel


def named_volume_of(svc: dict[str, Any], target: str) -> tuple[str, str]:
    """(named volume, container path) of the named volume a service mounts at `target`."""
    for entry in svc.get("volumes", []):
        source, mounted, *_ = str(entry).split(":")
        if mounted == target and not source.startswith((".", "/")):
            return source, mounted
    raise AssertionError(f"no named volume at {target}")


@pytest.fixture(scope="module")
def sealed(compose, tmp_path_factory) -> dict[str, Any]:
    """What the broker-users one-shot writes, by running its command with its environment."""
    one_shot = service(compose, "broker-users")
    out = tmp_path_factory.mktemp("broker") / "definitions.json"
    broker_main(["seal", str(DEFINITIONS_FILE), str(out)], environ=environment(one_shot))
    assert out.stat().st_mode & 0o777 == 0o600
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- compose


def test_compose_has_the_four_services_and_one_shots_for_keys_and_broker_users(compose):
    assert set(compose["services"]) == {
        "rabbitmq",
        "postgres",
        "traininglog",
        "planner",
        "keys",
        "broker-users",
        "proxy",  # one address for the traininglog replicas
        "redis",  # their shared write limit
        "webhooks",  # the webhook dispatcher
    }


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_both_services_read_the_clients_file_the_keys_service_writes(compose, name):
    keys = service(compose, "keys")
    command = keys["command"]
    assert command[0] == "backtrack-clients" and command[-1] == "dev"
    written = Path(command[command.index("--file") + 1])
    settings = settings_of(compose, name)
    assert settings.clients_file == written
    assert service(compose, name)["depends_on"]["keys"] == {
        "condition": "service_completed_successfully"
    }
    mounts = {m.split(":")[0]: m.split(":")[1] for m in service(compose, name)["volumes"]}
    assert mounts["secrets"] == str(written.parent)
    if name == "planner":  # and the planner reads the feed with the key written beside it
        assert settings.traininglog_api_key == ""  # no such file outside a container
        assert environment(service(compose, name))["PLANNER_TRAININGLOG_API_KEY_FILE"] == str(
            written.parent / "planner-api-key"
        )


def test_images_name_no_registry_host(compose):
    for name, svc in compose["services"].items():
        image = svc.get("image")
        if image is None:
            continue
        assert "/" not in image, f"{name}: image {image!r} names a registry or namespace"
    assert service(compose, "rabbitmq")["image"].startswith("rabbitmq:")
    assert "management" in service(compose, "rabbitmq")["image"]
    assert service(compose, "postgres")["image"] == "postgres:16"


def test_infrastructure_healthchecks(compose):
    assert healthcheck_command(service(compose, "rabbitmq")) == "rabbitmq-diagnostics -q ping"
    assert healthcheck_command(service(compose, "postgres")).startswith("pg_isready")


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_app_depends_on_healthy_infrastructure(compose, name):
    depends_on = service(compose, name)["depends_on"]
    assert isinstance(depends_on, dict), f"{name}: depends_on must be a mapping with conditions"
    assert set(INFRA_SERVICES) <= set(depends_on)
    for dependency, spec in depends_on.items():
        if dependency in ("keys", "broker-users"):
            continue
        assert spec["condition"] == "service_healthy", f"{name} -> {dependency}"
        assert "healthcheck" in service(compose, dependency), f"{dependency} has no healthcheck"


def test_planner_waits_for_traininglog(compose):
    assert service(compose, "planner")["depends_on"]["traininglog"] == {
        "condition": "service_healthy"
    }


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_app_healthcheck_probes_readyz_on_its_port(compose, name):
    settings = settings_of(compose, name)
    command = healthcheck_command(service(compose, name))
    assert command.startswith("python"), "python:3.11-slim has no curl; probe with urllib"
    assert "urllib" in command
    urls = re.findall(r"https?://[^\s'\"]+", command)
    assert len(urls) == 1, command
    url = urlsplit(urls[0])
    assert url.path == "/readyz"
    assert url.port == settings.port


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_published_port_is_the_port_the_service_listens_on(compose, name):
    settings = settings_of(compose, name)
    assert settings.host == "0.0.0.0", f"{name} must listen on all interfaces in a container"
    # traininglog's replicas are published through the proxy alone.
    published = service(compose, "proxy" if name == "traininglog" else name)
    assert container_ports(published) == [(settings.port, settings.port)]


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_amqp_url_points_at_the_compose_broker(compose, definitions, sealed, name):
    url = urlsplit(settings_of(compose, name).amqp_url)
    assert url.scheme == "amqp"
    assert url.hostname == "rabbitmq" and "rabbitmq" in compose["services"]
    assert (url.port or 5672) == 5672
    assert url.username == name, "each service connects as a broker user of its own"
    users = {user["name"]: user for user in definitions["users"]}
    assert url.username in users, f"{url.username} is not defined in definitions.json"
    assert "password" not in users[url.username] and "password_hash" not in users[url.username]
    # The broker boots with the sealed copy: the service's password opens it.
    hashed = {user["name"]: user["password_hash"] for user in sealed["users"]}
    assert password_matches(unquote(url.password or ""), hashed[url.username])
    vhost = unquote(url.path[1:]) if url.path not in ("", "/") else "/"
    assert {"user": url.username, "vhost": vhost} in [
        {"user": p["user"], "vhost": p["vhost"]} for p in definitions["permissions"]
    ]


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_database_url_points_at_the_compose_postgres(compose, name):
    url = urlsplit(settings_of(compose, name).database_url)
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == "postgres" and "postgres" in compose["services"]
    assert (url.port or 5432) == 5432
    database = url.path.lstrip("/")
    roles, databases = init_sql_objects()
    assert database == name, "each service has its own database"
    assert database in databases, f"init.sql does not create database {database}"
    assert url.username in roles, f"init.sql does not create role {url.username}"
    assert roles[url.username] == url.password
    assert databases[database] in (url.username, ""), "the service's role should own its database"


def test_traininglogs_data_keys_live_in_a_compose_database_of_their_own(compose):
    settings = settings_of(compose, "traininglog")
    url = urlsplit(settings.keys_database_url)
    assert url.scheme == "postgresql+psycopg" and url.hostname == "postgres"
    roles, databases = init_sql_objects()
    database = url.path.lstrip("/")
    assert database != urlsplit(settings.database_url).path.lstrip("/")
    assert databases.get(database) == url.username and roles.get(url.username) == url.password


def test_services_use_separate_databases(compose):
    urls = [urlsplit(settings_of(compose, name).database_url) for name in APP_SETTINGS]
    assert len({url.path for url in urls}) == len(urls)


def test_planner_reaches_traininglog_through_the_proxy(compose):
    url = urlsplit(settings_of(compose, "planner").traininglog_url)
    assert url.hostname == "proxy"
    assert url.port == settings_of(compose, "traininglog").port
    proxy = service(compose, "proxy")
    assert "8001:8001" in proxy["ports"]
    config = (ROOT / "deploy" / "haproxy" / "compose.cfg").read_text()
    assert f"traininglog:{url.port}" in config


def test_two_of_each_service_and_one_write_limit_in_redis(compose):
    for name in APP_SETTINGS:
        assert service(compose, name)["deploy"]["replicas"] == 2
    assert settings_of(compose, "traininglog").rate_limit_storage_url.startswith("redis://redis:")
    assert "redis" in compose["services"]


def test_both_services_use_one_broker_namespace(compose):
    namespaces = {settings_of(compose, name).broker_namespace for name in APP_SETTINGS}
    assert namespaces == {"backtrack"}


def test_postgres_init_script_is_mounted(compose):
    mounts = volume_mounts(service(compose, "postgres"))
    init_mounts = [t for t in mounts if t.startswith("/docker-entrypoint-initdb.d/")]
    assert init_mounts and mounts[init_mounts[0]] == INIT_SQL.resolve()
    assert init_mounts[0].endswith(".sql")
    _, databases = init_sql_objects()
    assert set(APP_SETTINGS) <= set(databases)


def test_rabbitmq_files_are_mounted_and_consistent(compose):
    rabbitmq = service(compose, "rabbitmq")
    mounts = volume_mounts(rabbitmq)
    for host_path in mounts.values():
        assert host_path.exists(), host_path
    assert mounts["/etc/rabbitmq/enabled_plugins"] == ENABLED_PLUGINS.resolve()

    conf_targets = [t for t, h in mounts.items() if h == RABBITMQ_CONF.resolve()]
    assert conf_targets, "rabbitmq.conf is not mounted"
    assert conf_targets[0] == "/etc/rabbitmq/rabbitmq.conf" or re.fullmatch(
        r"/etc/rabbitmq/conf\.d/[^/]+\.conf", conf_targets[0]
    )

    conf = {
        key.strip(): value.strip()
        for key, _, value in (
            line.partition("=")
            for line in RABBITMQ_CONF.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    }
    definitions_path = conf.get("load_definitions") or conf.get("definitions.local.path")
    assert definitions_path, "rabbitmq.conf does not load a definitions file"
    # The sealed copy, in the volume the broker-users one-shot writes it to, from the template.
    volume, directory = named_volume_of(rabbitmq, str(Path(definitions_path).parent))
    one_shot = service(compose, "broker-users")
    assert rabbitmq["depends_on"]["broker-users"] == {"condition": "service_completed_successfully"}
    written_volume, written_dir = named_volume_of(
        one_shot, str(Path(one_shot["command"][-1]).parent)
    )
    assert volume == written_volume and directory == str(Path(definitions_path).parent)
    assert Path(one_shot["command"][-1]).name == Path(definitions_path).name
    assert one_shot["command"][:2] == ["backtrack-broker", "seal"]
    assert volume_mounts(one_shot)[one_shot["command"][2]] == DEFINITIONS_FILE.resolve()
    assert written_dir == str(Path(one_shot["command"][-1]).parent)
    # No guest: nothing lets one in from other containers either.
    assert "loopback_users" not in conf and "default_user" not in conf
    assert "guest" not in "".join(conf)


def test_enabled_plugins():
    text = ENABLED_PLUGINS.read_text().strip()
    assert text.startswith("[") and text.endswith("]."), "enabled_plugins is an Erlang term"
    plugins = {p.strip() for p in text[1:-2].split(",") if p.strip()}
    assert {"rabbitmq_management", "rabbitmq_consistent_hash_exchange"} <= plugins


# --------------------------------------------------------------------------- broker topology


def test_definitions_declare_the_topology_names(definitions):
    topology = Topology()
    exchanges = {e["name"] for e in definitions["exchanges"]}
    queues = {q["name"] for q in definitions["queues"]}
    assert exchanges == {
        topology.events_exchange,
        topology.routines_exchange,
        topology.dead_letter_exchange,
        topology.requeue_exchange,
        topology.partition_exchange,
    }
    assert queues == {*topology.partition_queues, topology.dead_letter_queue}
    assert len(topology.partition_queues) == 8


def test_planner_queue_arguments_match_the_topology(definitions):
    topology = Topology()
    queues = {q["name"]: q for q in definitions["queues"]}
    for queue in topology.partition_queues:
        assert queues[queue]["arguments"] == topology.planner_queue_arguments()


def test_definitions_match_what_the_services_declare(compose, definitions):
    """Exactly what Topology.declare asks for, or the services' declarations fail (406)."""
    declared = declared_topology(compose)
    vhosts = {v["name"] for v in definitions["vhosts"]}

    exchanges = {
        e["name"]: (e["type"], e["durable"])
        for e in definitions["exchanges"]
        if e["vhost"] in vhosts
    }
    assert exchanges == declared.exchanges
    for exchange in definitions["exchanges"]:
        assert exchange.get("auto_delete", False) is False
        assert exchange.get("internal", False) is False
        assert exchange.get("arguments", {}) == declared.exchange_arguments[exchange["name"]]

    queues = {
        q["name"]: (q["durable"], q.get("arguments", {}))
        for q in definitions["queues"]
        if q["vhost"] in vhosts
    }
    assert queues == declared.queues
    for queue in definitions["queues"]:
        assert queue.get("auto_delete", False) is False

    bindings = {
        (b["source"], b["destination"], b["routing_key"])
        for b in definitions["bindings"]
        if b["destination_type"] == "queue" and b["vhost"] in vhosts
    }
    assert bindings == declared.bindings
    exchange_bindings = {
        (b["source"], b["destination"], b["routing_key"])
        for b in definitions["bindings"]
        if b["destination_type"] == "exchange" and b["vhost"] in vhosts
    }
    assert exchange_bindings == declared.exchange_bindings
    assert len(definitions["bindings"]) == len(declared.bindings) + len(declared.exchange_bindings)


def test_delivery_limit_agrees_across_services(compose, definitions):
    """Both services declare the planner queue from Topology; the definitions must agree with it,
    or whichever declares second is refused with PRECONDITION_FAILED."""
    topology = Topology()
    queues = {q["name"]: q for q in definitions["queues"]}
    for queue in topology.partition_queues:
        assert queues[queue]["arguments"]["x-delivery-limit"] == topology.delivery_limit


def test_definitions_have_no_guest_and_each_service_user_exactly_its_permissions(
    compose, definitions
):
    assert {"name": "/"} in [{"name": v["name"]} for v in definitions["vhosts"]]
    users = {user["name"]: user for user in definitions["users"]}
    assert set(users) == {"traininglog", "planner"}, "no guest, no other user"
    assert all(user["tags"] == [] for user in users.values()), "no administrator"
    topology = Topology(settings_of(compose, "planner").broker_namespace)
    # The permissions, topic permissions and topology the code computes, and nothing else.
    assert definitions == expected_definitions(
        topology,
        [traininglog_user("traininglog", topology), planner_user("planner", topology)],
    )
    for permission in definitions["permissions"] + definitions["topic_permissions"]:
        for regex in (permission.get("configure"), permission["write"], permission["read"]):
            assert regex != ".*" and (regex is None or regex.startswith("^"))


def test_the_planner_applies_the_events_of_traininglogs_broker_user_alone(compose):
    traininglog_url = urlsplit(settings_of(compose, "traininglog").amqp_url)
    assert settings_of(compose, "planner").traininglog_broker_user == traininglog_url.username


def test_compose_gives_no_broker_password_of_its_own(compose):
    """Without the password variables `docker compose` refuses to start: no default secret."""
    for name in ("traininglog", "planner", "broker-users"):
        with pytest.raises(KeyError, match="BROKER_PASSWORD"):
            environment(service(compose, name), variables={})
    one_shot = environment(service(compose, "broker-users"))
    for name in APP_SETTINGS:
        key = f"{name.upper()}_AMQP_URL"
        assert one_shot[key] == environment(service(compose, name))[key]


# --------------------------------------------------------------------------- Dockerfile


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_compose_builds_from_the_repo_root_with_deploy_dockerfile(compose, name):
    build = service(compose, name)["build"]
    assert (ROOT / build.get("context", ".")).resolve() == ROOT
    dockerfile = dockerfile_of(compose, name)
    assert dockerfile.is_file(), dockerfile
    assert dockerfile.parent == ROOT / "deploy"


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_dockerfile_runs_the_service_console_script(compose, name):
    build = service(compose, name)["build"]
    stages = dockerfile_stages(dockerfile_of(compose, name))
    target = build.get("target") or list(stages)[-1]
    assert target in stages, f"{name}: build target {target!r} is not a Dockerfile stage"
    chain = stage_chain(stages, target)

    assert chain[0]["from"] == "python:3.11-slim"

    cmds = instructions(chain, "CMD")
    assert cmds, f"{name}: no CMD"
    cmd = json.loads(cmds[-1]) if cmds[-1].startswith("[") else shlex.split(cmds[-1])
    scripts = scripts_of(name)
    assert cmd[0] in scripts, f"{name}: CMD runs {cmd[0]!r}, pyproject declares {sorted(scripts)}"
    assert cmd == [name, "serve"]
    assert scripts[cmd[0]].startswith(f"{name}.")


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_dockerfile_installs_shared_then_the_service(compose, name):
    build = service(compose, name)["build"]
    stages = dockerfile_stages(dockerfile_of(compose, name))
    chain = stage_chain(stages, build.get("target") or list(stages)[-1])
    sources = [args.split()[0].rstrip("/") for args in instructions(chain, "COPY")]
    assert "shared" in sources
    assert f"services/{name}" in sources
    assert sources.index("shared") < sources.index(f"services/{name}")
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
    other = {"traininglog", "planner"} - {name}
    assert not any(s.startswith(f"services/{o}") for s in sources for o in other)


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_dockerfile_installs_the_pinned_versions(compose, name):
    """Every pip install in the image honours constraints.txt, like `make install` does."""
    if not (ROOT / "constraints.txt").exists():
        pytest.skip("no constraints.txt")
    build = service(compose, name)["build"]
    stages = dockerfile_stages(dockerfile_of(compose, name))
    chain = stage_chain(stages, build.get("target") or list(stages)[-1])
    copied = {
        words[-1]: words[0]
        for words in (args.split() for args in instructions(chain, "COPY"))
        if not words[0].startswith("--")
    }
    installs = [cmd for cmd in instructions(chain, "RUN") if "pip install" in cmd]
    assert installs
    for command in installs:
        match = re.search(r"(?:-c|--constraint)[ =](\S+)", command)
        assert match, f"{name}: unpinned install: {command}"
        assert copied.get(match.group(1)) == "constraints.txt", f"{name}: {match.group(1)}"


@pytest.mark.parametrize("name", sorted(APP_SETTINGS))
def test_dockerfile_runs_as_non_root_and_exposes_the_port(compose, name):
    build = service(compose, name)["build"]
    stages = dockerfile_stages(dockerfile_of(compose, name))
    chain = stage_chain(stages, build.get("target") or list(stages)[-1])
    users = instructions(chain, "USER")
    assert users, f"{name}: the image runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    exposed = {int(p.split("/")[0]) for args in instructions(chain, "EXPOSE") for p in args.split()}
    assert exposed == {settings_of(compose, name).port}
