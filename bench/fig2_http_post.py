"""Figure 2: single-event POST /v1/events at concurrency 8 against a running traininglog.

Measured: `python -m traininglog serve` (waitress, 8 threads, its outbox relay publishing to a
throwaway broker namespace) on PostgreSQL: validation, record_events, the JSON receipt.
Baseline: a bare Flask POST endpoint (parse the JSON, answer 201 with a small JSON) under
waitress with the same thread count (`bench/bare_app.py`). Both are driven from a second process:
`wrk` with `post_event.lua` when it is installed, else `bench/loadgen.py` (8 threads, one
requests.Session each), closed loop, 8 connections, the same realistic event documents (each
posted once), each request with the bench client's API key (the bare endpoint ignores it).
traininglog's write rate limit is set far above what the load reaches.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench import infra
from bench.config import Config
from bench.harness import Row, repeat_many
from bench.workload import workload
from tests.support.processes import free_port

CONCURRENCY = 8
HERE = Path(__file__).parent


def drive(url: str, bodies: Path, seconds: float) -> dict[str, float]:
    """Load `url` for `seconds`; requests per second, p50 and p99 in ms."""
    if shutil.which("wrk"):
        argv = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds:.0f}s", "--timeout", "10s"]
        argv += ["-s", str(HERE / "post_event.lua"), url, "--", str(bodies), "2"]
    else:
        argv = [sys.executable, "-m", "bench.loadgen", url, str(bodies), str(CONCURRENCY)]
        argv += [str(seconds)]
    environ = {**os.environ, infra.API_KEY_ENV: infra.credentials().client_key}
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd=infra.ROOT, env=environ
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} failed requests against {url}: {done.stdout}")
    return {
        "throughput": result["requests"] / result["seconds"],
        "p50": result["p50_ms"],
        "p99": result["p99_ms"],
    }


def bodies_file(config: Config, label: str) -> Path:
    """Enough distinct documents that no request of a run repeats one (a repeat is cheaper)."""
    path = config.log_dir / f"bodies-{label}.jsonl"
    count = int(config.http_seconds * 2000)
    with path.open("w") as out:
        for document in workload(count, prefix=f"{label}-").documents():
            out.write(json.dumps(document, separators=(",", ":")) + "\n")
    return path


def run(config: Config) -> list[Row]:
    driver = "wrk" if shutil.which("wrk") else "bench.loadgen"
    runs = {"service": 0, "bare": 0}

    def measure(name: str, url: str) -> dict[str, float]:
        runs[name] += 1
        return drive(url, bodies_file(config, f"{name}{runs[name]}"), config.http_seconds)

    with (
        infra.postgres_database("http") as database_url,
        infra.throwaway_topology("http") as topology,
    ):
        service_port, bare_port = free_port(), free_port()
        environ = infra.service_environ(database_url, topology, traininglog=service_port)
        environ["TRAININGLOG_HTTP_THREADS"] = str(CONCURRENCY)
        argv = ["-m", "traininglog", "serve"]
        with infra.running(
            "traininglog", argv, port=service_port, environ=environ, log_dir=config.log_dir
        ) as service:
            measured = repeat_many(config.repeats, lambda: measure("service", service.url))
        bare_argv = ["-m", "bench.bare_app", str(bare_port), str(CONCURRENCY)]
        with infra.running(
            "bare_app", bare_argv, port=bare_port, environ={}, log_dir=config.log_dir
        ) as bare:
            baseline = repeat_many(config.repeats, lambda: measure("bare", bare.url))
    what = f"POST /v1/events, traininglog serve, postgresql, c={CONCURRENCY}, {driver}"
    bare_what = "bare Flask POST, same waitress threads"
    return [
        Row(
            "2",
            f"{what}: throughput",
            measured["throughput"],
            bare_what,
            baseline["throughput"],
            "requests/s",
        ),
        Row(
            "2",
            f"{what}: p50 latency",
            measured["p50"],
            bare_what,
            baseline["p50"],
            "ms",
            higher_is_better=False,
        ),
        Row(
            "2",
            f"{what}: p99 latency",
            measured["p99"],
            bare_what,
            baseline["p99"],
            "ms",
            higher_is_better=False,
        ),
    ]
