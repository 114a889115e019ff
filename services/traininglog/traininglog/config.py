"""traininglog's settings, from the environment, with the defaults documented in the README."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from backtrack_shared.settings import DEFAULT_AMQP_URL, Environment, SettingsError


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8001
    database_url: str = "sqlite:///data/traininglog.db"
    # The users' data keys, in a database of their own: never beside the bodies they seal.
    keys_database_url: str = "sqlite:///data/traininglog-keys.db"
    amqp_url: str = DEFAULT_AMQP_URL
    broker_namespace: str = "backtrack"
    log_level: str = "INFO"
    http_threads: int = 8
    max_batch_events: int = 500
    max_body_bytes: int = 2 * 1024 * 1024
    page_limit_max: int = 1000
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 0.5
    clients_file: Path = field(default_factory=lambda: Path("data/clients.json"))
    rate_limit_events_per_s: float = 200.0
    rate_limit_burst: int = 2000
    # Where every traininglog process keeps the limits (redis://...); '' keeps them per process.
    rate_limit_storage_url: str = ""

    def __post_init__(self) -> None:
        if self.keys_database_url == self.database_url:
            raise SettingsError(
                "TRAININGLOG_KEYS_DATABASE_URL must name another database than DATABASE_URL: "
                "data keys kept beside the bodies they seal open any copy of the event store"
            )
        if self.rate_limit_burst < self.max_batch_events:
            raise SettingsError(
                "TRAININGLOG_RATE_LIMIT_BURST must be at least TRAININGLOG_MAX_BATCH_EVENTS, "
                "or a full batch could never pass"
            )
        if self.rate_limit_events_per_s <= 0:
            raise SettingsError("TRAININGLOG_RATE_LIMIT_EVENTS_PER_S must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = Environment(os.environ if environ is None else environ, "traininglog")
        return cls(
            host=env.text("HOST", cls.host),
            port=env.integer("PORT", cls.port, minimum=1),
            database_url=env.text(
                "DATABASE_URL", env.sqlite_default("traininglog.db"), shared=True
            ),
            keys_database_url=env.text(
                "KEYS_DATABASE_URL", env.sqlite_default("traininglog-keys.db")
            ),
            amqp_url=env.text("AMQP_URL", DEFAULT_AMQP_URL, shared=True),
            broker_namespace=env.text("BROKER_NAMESPACE", cls.broker_namespace, shared=True),
            log_level=env.text("LOG_LEVEL", cls.log_level, shared=True),
            http_threads=env.integer("HTTP_THREADS", cls.http_threads, minimum=1),
            max_batch_events=env.integer("MAX_BATCH_EVENTS", cls.max_batch_events, minimum=1),
            max_body_bytes=env.integer("MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024),
            page_limit_max=env.integer("PAGE_LIMIT_MAX", cls.page_limit_max, minimum=1),
            relay_batch_size=env.integer("RELAY_BATCH_SIZE", cls.relay_batch_size, minimum=1),
            relay_poll_interval_s=env.number("RELAY_POLL_INTERVAL_S", cls.relay_poll_interval_s),
            clients_file=env.clients_file(),
            rate_limit_events_per_s=env.number(
                "RATE_LIMIT_EVENTS_PER_S", cls.rate_limit_events_per_s
            ),
            rate_limit_burst=env.integer("RATE_LIMIT_BURST", cls.rate_limit_burst, minimum=1),
            rate_limit_storage_url=env.text("RATE_LIMIT_STORAGE_URL", "", shared=True),
        )
