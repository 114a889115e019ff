"""Code both Backtrack services import: event contracts, the envelope, broker topology, pika helpers."""
