"""planner's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPLIED = Counter(
    "planner_events_total", "Events consumed, by what applying them did", ["outcome"]
)
EVENTS_DEAD_LETTERED = Counter(
    "planner_events_dead_lettered_total", "Messages that could not be read as an event"
)
EVENTS_UNTRUSTED = Counter(
    "planner_events_untrusted_total",
    "Event messages dropped unapplied: not published by traininglog's broker user (user_id)",
)
ROUTINE_VERSIONS = Counter("planner_routine_versions_total", "New routine versions stored")
APPLY_SECONDS = Histogram(
    "planner_apply_seconds",
    "Time to apply one event, from receipt to commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
USERS_WITH_UNAPPLIED_EVENTS = Gauge(
    "planner_users_with_unapplied_events",
    "Users with an event the rules could not fold: their routines answer paused until rebuilt",
)
OUTBOX_BACKLOG = Gauge("planner_outbox_backlog", "Routine updates not yet confirmed by the broker")
QUEUE_DEPTH = Gauge(
    "planner_queue_depth", "Events waiting in the planner's queue, not yet delivered to it"
)
FEED_LAG = Gauge(
    "planner_feed_lag",
    "Positions in traininglog's feed beyond the highest the planner has applied",
)

# The webhook dispatcher's (`planner webhooks`, its own /metrics).
WEBHOOK_TRIES = Counter(
    "planner_webhook_tries_total",
    "Webhook deliveries tried, by outcome: delivered (a 2xx), retry (failed, tried again later) "
    "or dead (failed for the last time: a dead letter)",
    ["outcome"],
)
WEBHOOK_VERIFICATIONS = Counter(
    "planner_webhook_verifications_total",
    "Endpoint verifications tried, by outcome: verified or refused (asked again later)",
    ["outcome"],
)
WEBHOOK_PENDING = Gauge(
    "planner_webhook_pending", "Webhook deliveries waiting for their next try, in every dispatcher"
)
WEBHOOK_DEAD_LETTERS = Gauge(
    "planner_webhook_dead_letters", "Webhook deliveries dead after every try, not redelivered"
)
