"""The events a patient's app (or clinician) sends, as the planner's domain receives them."""

import itertools
import uuid
from datetime import datetime
from typing import Any

from planner.domain import LoggedEvent

APP = {"kind": "app", "name": "simulated-app"}
CLINICIAN = {"kind": "clinician", "name": "simulated-clinic"}


class EventWriter:
    """Numbers one patient's events as its stream would (stream_version, position, ids)."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self._versions = itertools.count(1)

    def event(
        self,
        type_: str,
        payload: dict[str, Any],
        at: datetime,
        source: dict[str, Any] | None = None,
    ) -> LoggedEvent:
        version = next(self._versions)
        return LoggedEvent(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim/{self.user_id}/{version}")),
            type=type_,
            user_id=self.user_id,
            occurred_at=at,
            stream_version=version,
            position=version,
            source=dict(source or APP),
            payload=payload,
        )
