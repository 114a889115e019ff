"""Figure 10: POST /v1/events throughput with 2 traininglog processes behind haproxy against 1.

Measured: two `traininglog serve` processes (waitress, 8 threads each, each with its outbox relay)
behind haproxy (deploy/haproxy/traininglog.cfg, as `make run-fleet` runs it), on one PostgreSQL
database, the write limit in Redis (set far above the load), a throwaway broker namespace.
Baseline: one process behind the same haproxy (both of its server lines name that process), so
the proxy's hop is in both. Both are driven as figure 2 drives one process: `wrk` with
`post_event.lua` when it is installed, else `bench/loadgen.py`, closed loop, 8 connections, each
request a distinct realistic event with the bench client's key, for `http_seconds`.
On a 2-core machine that also runs the load generator, PostgreSQL and RabbitMQ, the ratio says
how much a second process gains there, not what it gains on a machine of its own.
"""

import shutil

from bench.config import Config
from bench.fig2_http_post import CONCURRENCY, bodies_file, drive
from bench.fleet import fleet
from bench.harness import Row, repeat_many


def run(config: Config) -> list[Row]:
    runs = {1: 0, 2: 0}

    def measure(processes: int, url: str) -> dict[str, float]:
        runs[processes] += 1
        label = f"fleet{processes}x{runs[processes]}"
        return drive(url, bodies_file(config, label), config.http_seconds)

    results = {}
    for processes in (1, 2):
        with fleet(processes, 0, config.log_dir, label=f"tlfleet{processes}") as system:
            results[processes] = repeat_many(
                config.repeats, lambda n=processes, url=system.url: measure(n, url)
            )
    driver = "wrk" if shutil.which("wrk") else "bench.loadgen"
    what = f"POST /v1/events through haproxy, postgresql, c={CONCURRENCY}, {driver}"
    return [
        Row(
            "10",
            f"{what}: throughput, 2 traininglog processes",
            results[2]["throughput"],
            "1 traininglog process",
            results[1]["throughput"],
            "requests/s",
        ),
        Row(
            "10",
            f"{what}: p99 latency, 2 traininglog processes",
            results[2]["p99"],
            "1 traininglog process",
            results[1]["p99"],
            "ms",
            higher_is_better=False,
        ),
    ]
