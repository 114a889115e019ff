"""planner's settings, from the environment, with the defaults documented in the README."""

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from backtrack_shared.broker.connection import broker_url_user
from backtrack_shared.settings import DEFAULT_AMQP_URL, Environment


def read_key_file(path: Path) -> str:
    """The planner's key to traininglog from a file (`make run` writes one); '' if none."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8002
    database_url: str = "sqlite:///data/planner.db"
    amqp_url: str = DEFAULT_AMQP_URL
    broker_namespace: str = "backtrack"
    log_level: str = "INFO"
    http_threads: int = 8
    traininglog_url: str = "http://127.0.0.1:8001"
    prefetch: int = 100
    batch_size: int = 100
    batch_wait_s: float = 0.0
    catch_up_interval_s: float = 30.0
    fold_cache_users: int = 256
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 0.5
    clients_file: Path = field(default_factory=lambda: Path("data/clients.json"))
    traininglog_api_key: str = field(default="", repr=False)
    # The broker user traininglog publishes events as: the planner applies no other's.
    traininglog_broker_user: str = "guest"
    # Partition queues the input is hashed over, and how long an instance's claim on one
    # lasts unless renewed (a killed instance's partitions move once it lapses).
    partitions: int = 8
    partition_lease_s: float = 10.0
    # What page links are signed with (PLANNER_PAGE_LINK_SECRET), else the file that holds it
    # (made on first start): every planner serving the pages must have the same.
    page_link_secret: str = field(default="", repr=False)
    page_link_secret_file: Path = field(default_factory=lambda: Path("data/page-link-secret"))
    # This process's name among the planner instances (PLANNER_INSTANCE; host and pid if unset).
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    # Where clients reach this planner: the link in a webhook notification (by default
    # http://HOST:PORT); how long one webhook POST may take; how many go out at once.
    public_url: str = ""
    webhook_timeout_s: float = 10.0
    webhook_workers: int = 8
    # Where the webhook dispatcher (`planner webhooks`) answers /healthz, /readyz and /metrics.
    webhooks_port: int = 8004

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        env = Environment(environ, "planner")
        # Unless named, traininglog's broker user is the one of the URL traininglog would use
        # in this environment (TRAININGLOG_AMQP_URL, else AMQP_URL).
        traininglog_url = Environment(environ, "traininglog").text(
            "AMQP_URL", DEFAULT_AMQP_URL, shared=True
        )
        return cls(
            host=env.text("HOST", cls.host),
            port=env.integer("PORT", cls.port, minimum=1),
            database_url=env.text("DATABASE_URL", env.sqlite_default("planner.db"), shared=True),
            amqp_url=env.text("AMQP_URL", DEFAULT_AMQP_URL, shared=True),
            broker_namespace=env.text("BROKER_NAMESPACE", cls.broker_namespace, shared=True),
            log_level=env.text("LOG_LEVEL", cls.log_level, shared=True),
            http_threads=env.integer("HTTP_THREADS", cls.http_threads, minimum=1),
            traininglog_url=env.text("TRAININGLOG_URL", cls.traininglog_url),
            prefetch=env.integer("PREFETCH", cls.prefetch, minimum=1),
            batch_size=env.integer("BATCH_SIZE", cls.batch_size, minimum=1),
            batch_wait_s=env.number("BATCH_WAIT_S", cls.batch_wait_s),
            catch_up_interval_s=env.number("CATCH_UP_INTERVAL_S", cls.catch_up_interval_s),
            fold_cache_users=env.integer("FOLD_CACHE_USERS", cls.fold_cache_users),
            relay_batch_size=env.integer("RELAY_BATCH_SIZE", cls.relay_batch_size, minimum=1),
            relay_poll_interval_s=env.number("RELAY_POLL_INTERVAL_S", cls.relay_poll_interval_s),
            clients_file=env.clients_file(),
            traininglog_api_key=env.text("TRAININGLOG_API_KEY", "")
            or read_key_file(
                Path(env.text("TRAININGLOG_API_KEY_FILE", str(env.data_path("planner-api-key"))))
            ),
            traininglog_broker_user=env.text(
                "TRAININGLOG_BROKER_USER", broker_url_user(traininglog_url)
            ),
            partitions=env.integer("PARTITIONS", cls.partitions, minimum=1),
            page_link_secret=env.text("PAGE_LINK_SECRET", ""),
            page_link_secret_file=Path(
                env.text("PAGE_LINK_SECRET_FILE", str(env.data_path("page-link-secret")))
            ),
            partition_lease_s=env.number("PARTITION_LEASE_S", cls.partition_lease_s),
            public_url=env.text("PUBLIC_URL", cls.public_url),
            webhook_timeout_s=env.number("WEBHOOK_TIMEOUT_S", cls.webhook_timeout_s),
            webhook_workers=env.integer("WEBHOOK_WORKERS", cls.webhook_workers, minimum=1),
            webhooks_port=env.integer("WEBHOOKS_PORT", cls.webhooks_port, minimum=1),
            instance=env.text("INSTANCE", "")
            or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        )
