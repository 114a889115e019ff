"""traininglog's rules for appending to the log: idempotency and gapless stream versions."""
