"""traininglog's tables. The event store is append-only: rows are inserted, never updated."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-assigned rowid.
Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    # The client that owns the user: user ids and event ids are each client's own.
    Column("tenant", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("body_hash", String(64), nullable=False),
    # The client's envelope as canonical JSON, sealed with its user's data key (see sealing.py):
    # schema versions never reach the SQL, and erasing the key makes the body unreadable.
    Column("body", Text, nullable=False),
    UniqueConstraint("tenant", "user_id", "stream_version", name="uq_events_user_stream_version"),
    UniqueConstraint("tenant", "event_id", name="uq_events_tenant_event_id"),
)

# One row per stored event not yet confirmed by the broker; written in the event's transaction.
event_outbox = Table(
    "event_outbox",
    metadata,
    Column("position", Position, ForeignKey("events.position"), primary_key=True),
)

# One row per user, keyed by the client application (tenant) that owns them and the id it gave
# them, with the id of the key that seals their events: the key lives in the key database
# (key_store.py), never here. Erasure deletes the key and keeps the row, so the log stays
# append-only and the user id stays taken (in its tenant).
users = Table(
    "users",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("key_id", String(36), nullable=True),  # NULL once the erased user's key is deleted
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

# Other client applications an operator granted access to a user (access.granted events).
user_grants = Table(
    "user_grants",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("client_id", String(64), primary_key=True),
)
