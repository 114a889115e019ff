"""traininglog: Backtrack's logging service and the source of truth for every rehab event."""
