"""Figure 5: end-to-end latency, from POST /v1/events to the routine visible through the planner.

Both services run as processes (`traininglog serve`, `planner serve`) on one PostgreSQL database
and a throwaway broker namespace, as tests/e2e run them. Realistic events are offered open-loop
at a fixed rate, 200 events/s (and in the full run also 20 events/s), for 60 s (quick: 5 s, 200
only). Nine events in ten are posted by a second process: `wrk` (Debian's, `make wrk`) pacing
itself with `post_paced.lua`, else `bench/loadgen.py --rate`; every 10th event is a probe,
posted by the bench itself when it is due (whatever the answers to earlier ones), and once its
POST answered with a position, a prober asks GET /v1/users/{id}/routine (the oldest unseen
probe, every 5 ms; the planner applies in feed order) until applied_position >= that position.
Measured: p50 and p99 of due -> routine visible, over the probes.
Baseline: p50 and p99 of due -> POST answered, over the same probes: the part of the end-to-end
latency traininglog alone accounts for (the second process's own p99, from sending, is noted).
A probe still unseen `e2e_deadline_s` after the last POST was answered counts as unseen until
then: the figure is then a lower bound, and the row says how many were unseen.
Then the highest offered rate at which the end-to-end p99 stays <= 1 s is searched for (shorter
runs, rates doubling then halving the gap) and printed, beside the same for POST answered.
Every request carries the bench client's API key (the client app whose users these are);
traininglog's write rate limit is set far above the offered rate.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat
from bench.workload import workload
from tests.support.processes import free_port

PROBE_EVERY = 10
POLL_S = 0.005
POST_WORKERS = 16  # the bench's own probes
LOAD_CONNECTIONS = 64  # the second process's: enough that none waits at 200 events/s
HERE = Path(__file__).parent
SEARCH_LIMIT_S = 1.0  # the highest rate whose p99 stays within this is searched for
SEARCH_STEPS = 6


@dataclass
class Probe:
    user_id: str
    position: int
    due: float
    visible_after: float | None = None


def authorized_session() -> requests.Session:
    session = requests.Session()
    session.headers.update(infra.credentials().header())
    return session


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Run:
    def __init__(self, traininglog_url: str, planner_url: str) -> None:
        self.traininglog_url, self.planner_url = traininglog_url, planner_url
        self.post_latencies: list[float] = []
        self.failures = 0
        self.pending: deque[Probe] = deque()
        self.probes: list[Probe] = []
        self.lock = threading.Lock()
        self.sessions = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.sessions, "session"):
            self.sessions.session = authorized_session()
        return self.sessions.session

    def post(self, index: int, document: dict, due: float) -> None:
        try:
            answer = self.session().post(
                f"{self.traininglog_url}/v1/events", json=document, timeout=120
            )
            answer.raise_for_status()
        except requests.RequestException:
            with self.lock:
                self.failures += 1
            return
        answered = time.monotonic()
        with self.lock:
            self.post_latencies.append(answered - due)
            if index % PROBE_EVERY == 0:
                probe = Probe(document["user_id"], answer.json()["position"], due)
                self.probes.append(probe)
                self.pending.append(probe)

    def prober(self, stop: threading.Event) -> None:
        session = authorized_session()
        while not stop.is_set():
            with self.lock:
                probe = self.pending[0] if self.pending else None
            if probe is None:
                time.sleep(POLL_S)
                continue
            answer = session.get(f"{self.planner_url}/v1/users/{probe.user_id}/routine", timeout=30)
            if answer.status_code == 200 and answer.json()["applied_position"] >= probe.position:
                probe.visible_after = time.monotonic() - probe.due
                with self.lock:
                    self.pending.popleft()
            else:
                time.sleep(POLL_S)


def load_driver() -> str:
    return "wrk" if shutil.which("wrk") else "bench.loadgen"


def start_load(url: str, bodies: Path, rate: float, seconds: float) -> subprocess.Popen[str]:
    """The second process posting `bodies` open-loop at `rate` for `seconds`."""
    if shutil.which("wrk"):
        argv = ["wrk", "-t2", f"-c{LOAD_CONNECTIONS}", f"-d{seconds:.0f}s", "--timeout", "30s"]
        argv += ["-s", str(HERE / "post_paced.lua"), url, "--", str(bodies), "2", f"{rate:g}"]
    else:
        argv = [sys.executable, "-m", "bench.loadgen", url, str(bodies), str(LOAD_CONNECTIONS)]
        argv += [str(seconds), "--rate", f"{rate:g}"]
    environ = {**os.environ, infra.API_KEY_ENV: infra.credentials().client_key}
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=infra.ROOT,
        env=environ,
    )


def one_run(
    config: Config,
    rate: float,
    traininglog_url: str,
    planner_url: str,
    prefix: str,
    seconds: float | None = None,
) -> dict:
    seconds = config.e2e_seconds if seconds is None else seconds
    count = int(rate * seconds)
    documents = list(workload(count, prefix=prefix).documents())
    probes = documents[::PROBE_EVERY]
    bodies = config.log_dir / f"bodies-{prefix}.jsonl"
    with bodies.open("w") as out:
        for index, document in enumerate(documents):
            if index % PROBE_EVERY:
                out.write(json.dumps(document, separators=(",", ":")) + "\n")
    run = Run(traininglog_url, planner_url)
    stop = threading.Event()
    prober = threading.Thread(target=run.prober, args=(stop,), daemon=True)
    prober.start()
    load = start_load(traininglog_url, bodies, rate * (PROBE_EVERY - 1) / PROBE_EVERY, seconds)
    start = time.monotonic()
    with ThreadPoolExecutor(POST_WORKERS) as pool:
        for index, document in enumerate(probes):
            due = start + index * PROBE_EVERY / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(run.post, index * PROBE_EVERY, document, due)
    out, err = load.communicate(timeout=seconds + 120)
    if load.returncode:
        raise RuntimeError(f"the load generator failed: {err[-2000:]}")
    loaded = json.loads(out.strip().splitlines()[-1])
    deadline = time.monotonic() + config.e2e_deadline_s  # every POST has been answered
    while time.monotonic() < deadline:
        with run.lock:
            if not run.pending:
                break
        time.sleep(0.05)
    stop.set()
    prober.join()
    gave_up = time.monotonic()
    unseen = [probe for probe in run.probes if probe.visible_after is None]
    for probe in unseen:
        probe.visible_after = gave_up - probe.due  # a lower bound
    end_to_end = [probe.visible_after for probe in run.probes]
    assert end_to_end and run.post_latencies, "no event got through"
    return {
        "e2e_p50": percentile(end_to_end, 0.50) * 1e3,
        "e2e_p99": percentile(end_to_end, 0.99) * 1e3,
        "post_p50": percentile(run.post_latencies, 0.50) * 1e3,
        "post_p99": percentile(run.post_latencies, 0.99) * 1e3,
        "unseen": len(unseen),
        "probes": len(run.probes),
        "failures": run.failures + loaded["errors"],
        "posted": len(run.post_latencies) + loaded["requests"],
        "load_p99": loaded["p99_ms"],
        "load_rate": loaded["requests"] / loaded["seconds"],
    }


@contextlib.contextmanager
def system(config: Config, label: str) -> Iterator[tuple[str, str]]:
    """Both services on a fresh database and namespace: a planner that fell behind in one run
    would otherwise start the next by catching up with that backlog."""
    with (
        infra.postgres_database("e2e") as database_url,
        infra.throwaway_topology(label) as topology,
    ):
        ports = {"traininglog": free_port(), "planner": free_port()}
        environ = infra.service_environ(database_url, topology, **ports)
        start = {"environ": environ, "log_dir": config.log_dir}
        traininglog_argv = ["-m", "traininglog", "serve"]
        with (
            infra.running(
                "traininglog", traininglog_argv, port=ports["traininglog"], **start
            ) as traininglog,
            infra.running(
                "planner", ["-m", "planner", "serve"], port=ports["planner"], **start
            ) as planner,
        ):
            yield traininglog.url, planner.url


def run(config: Config) -> list[Row]:
    rows = [row for rate in config.e2e_rates for row in run_at(config, rate)]
    return [*rows, *highest_rate(config)]


def highest_rate(config: Config) -> list[Row]:
    """The highest offered rate whose end-to-end p99 stays within SEARCH_LIMIT_S (and the same
    for POST answered), from runs of `e2e_search_seconds`: doubling from the first rate until
    one is over, then halving the gap."""
    within: dict[str, float] = {"e2e_p99": 0.0, "post_p99": 0.0}
    over: dict[str, float | None] = {"e2e_p99": None, "post_p99": None}
    tried: list[str] = []
    rate = config.e2e_rates[0]
    for step in range(config.e2e_search_steps):
        with system(config, f"e2esearch{step}") as (traininglog_url, planner_url):
            result = one_run(
                config,
                rate,
                traininglog_url,
                planner_url,
                f"e2es{step}-",
                seconds=config.e2e_search_seconds,
            )
        tried.append(f"{rate:.0f}: {result['e2e_p99']:,.0f} ms")
        for name in within:
            if result[name] <= SEARCH_LIMIT_S * 1e3 and not result["unseen"]:
                within[name] = max(within[name], rate)
            else:
                bound = over[name]
                over[name] = rate if bound is None else min(bound, rate)
        low, high = within["e2e_p99"], over["e2e_p99"]
        rate = low * 2 if high is None else (low + high) / 2
        if high is not None and high - low <= max(10.0, 0.1 * high):
            break
    note = f"{config.e2e_search_seconds:.0f} s runs, p99 at each rate tried: " + "; ".join(tried)
    return [
        Row(
            "5",
            f"end to end: highest offered rate with p99 <= {SEARCH_LIMIT_S:g} s",
            Stat([within["e2e_p99"]]),
            f"the same for POST answered (traininglog alone){'' if over['post_p99'] else ', at least'}",
            Stat([within["post_p99"]]),
            "events/s",
            note=note,
        )
    ]


def run_at(config: Config, rate: float) -> list[Row]:
    stats = {name: Stat() for name in ("e2e_p50", "e2e_p99", "post_p50", "post_p99")}
    unseen, probes, failures = 0, 0, 0
    load_p99 = Stat()
    for run_index in range(config.repeats):
        with system(config, f"e2e{run_index}") as (traininglog_url, planner_url):
            prefix = f"e2e{rate:.0f}r{run_index}-"
            result = one_run(config, rate, traininglog_url, planner_url, prefix)
        for name, stat in stats.items():
            stat.add(result[name])
        load_p99.add(result["load_p99"])
        unseen += result["unseen"]
        probes += result["probes"]
        failures += result["failures"]
    offered = f"{rate:.0f} events/s offered for {config.e2e_seconds:.0f} s"
    note = f"{probes} probes; the rest by {load_driver()}, its p99 from sending {load_p99.median:,.0f} ms"
    if unseen:
        note += (
            f"; {unseen} unseen {config.e2e_deadline_s:.0f} s after the last answer: lower bound"
        )
    if failures:
        note += f"; {failures} POSTs failed"
    base = "due -> POST answered (traininglog alone), the probes"
    return [
        Row(
            "5",
            f"end to end, due -> routine visible, {offered}: p50",
            stats["e2e_p50"],
            base,
            stats["post_p50"],
            "ms",
            higher_is_better=False,
            note=note,
        ),
        Row(
            "5",
            f"end to end, due -> routine visible, {offered}: p99",
            stats["e2e_p99"],
            base,
            stats["post_p99"],
            "ms",
            higher_is_better=False,
            note=note,
        ),
    ]
