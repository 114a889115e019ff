"""The small shared harness: repeats and their spread, timing, the one results table, machine info."""

import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from backtrack_shared.gc_tuning import settle_after_startup


@dataclass
class Stat:
    """Repeated measurements of one figure: median and spread."""

    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.samples), max(self.samples)


def repeat(times: int, measure: Callable[[], float]) -> Stat:
    stat = Stat()
    for _ in range(times):
        stat.add(measure())
    return stat


def repeat_many(times: int, measure: Callable[[], dict[str, float]]) -> dict[str, Stat]:
    """Like `repeat` for a measurement that yields several figures at once (p50 and p99, ...)."""
    stats: dict[str, Stat] = {}
    for _ in range(times):
        for name, value in measure().items():
            stats.setdefault(name, Stat()).add(value)
    return stats


class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._start


def rate(count: int, measure: Callable[[], object]) -> float:
    """Run `measure` once; `count` items per second. The bench process holds whole workloads,
    as no service process does: like `serve` with what a service loaded, it freezes them out of
    the garbage collector first (`settle_after_startup`)."""
    settle_after_startup()
    with Timer() as timer:
        measure()
    return count / timer.seconds


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    VmHWM where Linux has it: getrusage's ru_maxrss also keeps the high-water mark of the process
    this one was forked from (it survives fork and exec), so a small child of a big bench
    process would report the bench's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Row:
    figure: str
    measured: str
    value: Stat
    baseline: str
    base: Stat
    unit: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value.median / self.base.median if self.base.median else float("nan")


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _with_spread(stat: Stat) -> str:
    low, high = stat.spread
    if len(stat.samples) == 1:
        return f"{_number(stat.median)} (1 run)"
    return f"{_number(stat.median)} ({_number(low)}-{_number(high)})"


def table(rows: list[Row]) -> str:
    """One Markdown table: each figure, its baseline measured in the same run, and the ratio."""
    header = (
        "| # | measured | median (min-max) | baseline | median (min-max) | unit | ratio |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for row in rows:
        direction = "↑" if row.higher_is_better else "↓"
        measured = f"{row.measured} — {row.note}" if row.note else row.measured
        lines.append(
            f"| {row.figure} | {measured} | {_with_spread(row.value)} | {row.baseline} | "
            f"{_with_spread(row.base)} | {row.unit} {direction} | {row.ratio:.2f}x |"
        )
    return "\n".join(lines)


def _command(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unavailable ({err})"
    return (done.stdout or done.stderr).strip()


def machine_info(database_version: str) -> str:
    rabbit = _command("rabbitmqctl", "version").splitlines()
    return "\n".join(
        [
            f"- nproc: {os.cpu_count()} ({_command('nproc')} usable)",
            f"- python: {platform.python_version()} ({platform.python_implementation()})",
            f"- rabbitmqctl version: {rabbit[-1] if rabbit else 'unavailable'}",
            f"- postgres: {database_version}",
            f"- platform: {platform.platform()}",
            "- free -h:",
            "",
            "```",
            _command("free", "-h"),
            "```",
        ]
    )
