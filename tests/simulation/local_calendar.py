"""The patient's own calendar, as the simulator knows it (the truth the planner must match).

DOMAIN.md (D7 and the December decisions): a declared time zone (`baseline.assessed.time_zone`)
wins; without one, the offset of `occurred_at` is the user's local time.
"""

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


class PatientClock:
    """Where a patient lives, and how its app writes instants."""

    def __init__(self, zone: tzinfo, declared: str | None, sends_utc: bool) -> None:
        self.zone = zone
        self.declared = declared  # the IANA name the baseline declares, if any
        self.sends_utc = sends_utc  # the app writes occurred_at in UTC rather than local time

    @classmethod
    def declared_zone(cls, name: str, sends_utc: bool = True) -> "PatientClock":
        return cls(ZoneInfo(name), name, sends_utc)

    def instant(self, day: date, at: time) -> datetime:
        """The occurred_at an app would write for local `day` at local time `at`."""
        local = datetime.combine(day, at, tzinfo=self.zone)
        if self.sends_utc:
            return local.astimezone(ZoneInfo("UTC"))
        # An RFC 3339 timestamp carries an offset, not a zone name.
        offset = local.utcoffset() or timedelta(0)
        return local.astimezone(_fixed(offset))

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()


def _fixed(offset: timedelta) -> tzinfo:
    from datetime import timezone

    return timezone(offset)
