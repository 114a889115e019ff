"""Everything the services do with RabbitMQ, one job per module: `connection` (parameters, the
errors that mean the broker is gone, readiness and queue-depth probes), `messages` (what is
published and consumed, and the failures a handler raises), `publisher` (confirmed batches),
`consumer` (manual acks, batches, dead letters), `topology` (exchanges, queues, partitions),
`relay` (outbox to broker), `dead_letters` (reading and requeueing them), and the broker's
users: `users` (their permissions, pure), `setup` (rabbitmqctl, definitions) and `cli`."""
