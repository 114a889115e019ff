"""traininglog's Prometheus metrics."""

from prometheus_client import Counter, Gauge

EVENTS_RECORDED = Counter("traininglog_events_total", "Events received, by outcome", ["outcome"])
EVENTS_REJECTED = Counter("traininglog_events_rejected_total", "Events that failed validation")
OUTBOX_BACKLOG = Gauge(
    "traininglog_outbox_backlog", "Stored events not yet confirmed by the broker"
)
