"""Whether a series of per-minute figures grows without bound: the soak's verdict (bench/soak.py).

A series is judged on its last two thirds (the first third is warm-up: caches fill, the
allocator takes its arenas, queues reach their working level). A least-squares line through
those minutes gives the rise over them; the series grew when that rise is above both a share of
its level and a floor of its own unit, so that a flat series with noise, or a small one that
wobbles, is not called growing, and a leak of a steady amount per minute is.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# The rise the fit may show over the judged minutes, as a share of the series' mean there.
RELATIVE_RISE = 0.10


@dataclass(frozen=True)
class Verdict:
    name: str
    slope_per_minute: float  # of the fit over the judged minutes
    rise: float  # slope times the judged minutes' span
    allowed: float  # the largest rise still called bounded
    judged_minutes: int

    @property
    def grew(self) -> bool:
        return self.rise > self.allowed


def judged_part(values: Sequence[float]) -> list[float]:
    """The last two thirds of the minutes (all of them when there are fewer than 3)."""
    if len(values) < 3:
        return list(values)
    return list(values[len(values) // 3 :])


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of the values against their index (per minute); 0 for one value."""
    if len(values) < 2:
        return 0.0
    minutes = range(len(values))
    mean_minute = statistics.fmean(minutes)
    mean_value = statistics.fmean(values)
    spread = sum((minute - mean_minute) ** 2 for minute in minutes)
    return (
        sum(
            (minute - mean_minute) * (value - mean_value)
            for minute, value in zip(minutes, values, strict=True)
        )
        / spread
    )


def judge(name: str, values: Sequence[float], floor: float) -> Verdict:
    """`floor`: the rise (in the series' unit) too small to call growth whatever the level."""
    part = judged_part(values)
    fitted = slope(part)
    span = max(len(part) - 1, 0)
    level = abs(statistics.fmean(part)) if part else 0.0
    return Verdict(name, fitted, fitted * span, max(RELATIVE_RISE * level, floor), len(part))
