"""planner's tables: derived, disposable, rebuildable from traininglog's feed. Never traininglog's."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Everything of a user is keyed by (tenant, user_id): a user id is its owning client's own, and
# two clients' users of one id are two users. An event id likewise is unique per tenant.

Position = BigInteger().with_variant(Integer(), "sqlite")

# Every event applied, once: the primary key is the deduplication of redelivered messages.
planner_events = Table(
    "planner_events",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("position", Position, nullable=False),
    Column("body", Text, nullable=False),  # the stored envelope as traininglog published it
)
Index(
    "ix_planner_events_history",
    planner_events.c.tenant,
    planner_events.c.user_id,
    planner_events.c.occurred_at,
    planner_events.c.stream_version,
)

planner_users = Table(
    "planner_users",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("applied_position", Position, nullable=False),
    Column("routine_version", Integer, nullable=False),
)

planner_routine_versions = Table(
    "planner_routine_versions",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("rules_version", String(32), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("applied_position", Position, nullable=False),
    Column("caused_by", Text, nullable=False),  # JSON list of event ids
    Column("changes", Text, nullable=False),  # JSON list of prescription changes
    Column("routine", Text, nullable=False),  # JSON of the routine the rules derived
    PrimaryKeyConstraint("tenant", "user_id", "version"),
)

# How far a feed reader got: "catch_up" for the live planner, "rebuild" while a rebuild runs.
planner_checkpoints = Table(
    "planner_checkpoints",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", Position, nullable=False),
)

planner_outbox = Table(
    "planner_outbox",
    metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("routing_key", String(64), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("user_id", String(64), nullable=True),  # an erasure drops the user's unsent messages
    Column("tenant", String(64), nullable=True),
)

# The users the planner knows, by owner (tenant) and id. A client reads only its own users'
# routines, and those of users it was granted.
planner_user_tenants = Table(
    "planner_user_tenants",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("tenant", String(64), primary_key=True),
)

# Other client applications an operator let see a user (access.granted / access.revoked events),
# as of the feed position of the latest such event: one arriving late never undoes a newer one.
planner_user_grants = Table(
    "planner_user_grants",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("client_id", String(64), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("position", Position, nullable=False),
)

# Users forgotten on request: their projections are gone, and any of their events arriving late
# (a redelivery, a catch-up) is dropped, never applied. Holds no health data. An erasure
# recorded before ids were per client has the tenant "" (not known): it drops the events of that
# user id from before its position, which were all that user's (LEGACY_ERASURE_TENANT).
planner_erasures = Table(
    "planner_erasures",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("position", Position, nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    # When the user's dead letters were purged and the files scrubbed (erasure_scrub.py);
    # NULL until then.
    Column("scrubbed_at", DateTime(timezone=True), nullable=True),
)

# The tables holding a user's data, scrubbed after an erasure deletes their rows.
USER_DATA_TABLES = (
    "planner_events",
    "planner_routine_versions",
    "planner_users",
    "planner_user_tenants",
    "planner_user_grants",
    "planner_outbox",
    "planner_webhook_deliveries",
)

# Events the rules could not fold (fail safe, per user): set aside, left out of the history the
# rules read; while a user has any, their routine answers paused naming them. A rebuild of the
# user decides again.
planner_unapplied_events = Table(
    "planner_unapplied_events",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Column("error", Text, nullable=False),
    Column("red_flags", Text, nullable=False),  # JSON list: what the event reported
)
Index(
    "ix_planner_unapplied_events_user",
    planner_unapplied_events.c.tenant,
    planner_unapplied_events.c.user_id,
    planner_unapplied_events.c.position,
)

# Planner instances alive (each renews `seen_at`), and which one consumes each partition queue.
# Not user data: never scrubbed, never rebuilt. Times are the instances' epoch seconds.
planner_instances = Table(
    "planner_instances",
    metadata,
    Column("instance", String(128), primary_key=True),
    Column("seen_at", Float, nullable=False),
)

planner_partition_claims = Table(
    "planner_partition_claims",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("instance", String(128), nullable=True),  # None: released, free to take
    Column("renewed_at", Float, nullable=False),
)

# Webhook endpoints, each a client's own (client_id is the tenant whose users it hears of), and
# one delivery per (routine message, endpoint): its id is the notification's `webhook-id`, the
# same on every try, so that a receiver de-duplicates.
planner_webhook_endpoints = Table(
    "planner_webhook_endpoints",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("endpoint_id", String(64), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list
    Column("secret", String(128), nullable=False),
    Column("verified_at", Float, nullable=True),
    Column("next_verification_at", Float, nullable=False),
    Column("verification_attempts", Integer, nullable=False),
)

planner_webhook_deliveries = Table(
    "planner_webhook_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("endpoint_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),  # an erasure drops the user's deliveries
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    Index("ix_planner_webhook_deliveries_due", "state", "next_attempt_at"),
)
