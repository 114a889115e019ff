"""Figure 5: end-to-end latency, from POST /v1/events to the routine visible through the planner.

Both services run as processes (`traininglog serve`, `planner serve`) on one PostgreSQL database
and a throwaway broker namespace, as tests/e2e run them. Realistic events are offered open-loop
at a fixed rate, 200 events/s (and in the full run also 20 events/s, which the
system sustains), for 30 s (quick: 5 s, 200 only): event i is due at i/rate, whatever the
answers to earlier ones, and every latency counts from when its event was due, so a server that
falls behind shows it. Every 10th event is a probe: once its POST answered with a position, a
prober asks GET /v1/users/{id}/routine (the oldest unseen probe, every 5 ms; the planner applies
in feed order) until applied_position >= that position.
Measured: p50 and p99 of due -> routine visible, over the probes.
Baseline: p50 and p99 of due -> POST answered, over every event of the same run: the part of
the end-to-end latency traininglog alone accounts for.
A probe still unseen `e2e_deadline_s` after the last POST was answered counts as unseen until
then: the figure is then a lower bound, and the row says how many were unseen.
Every request carries the bench client's API key (the client app whose users these are);
traininglog's write rate limit is set far above the offered rate.
"""

import statistics
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat
from bench.workload import workload
from tests.support.processes import free_port

PROBE_EVERY = 10
POLL_S = 0.005
POST_WORKERS = 64


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


def one_run(
    config: Config, rate: float, traininglog_url: str, planner_url: str, prefix: str
) -> dict:
    count = int(rate * config.e2e_seconds)
    documents = list(workload(count, prefix=prefix).documents())
    run = Run(traininglog_url, planner_url)
    stop = threading.Event()
    prober = threading.Thread(target=run.prober, args=(stop,), daemon=True)
    prober.start()
    start = time.monotonic()
    with ThreadPoolExecutor(POST_WORKERS) as pool:
        for index, document in enumerate(documents):
            due = start + index / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(run.post, index, document, due)
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
        "post_p50": statistics.median(run.post_latencies) * 1e3,
        "post_p99": percentile(run.post_latencies, 0.99) * 1e3,
        "unseen": len(unseen),
        "probes": len(run.probes),
        "failures": run.failures,
        "posted": len(run.post_latencies),
    }


def run(config: Config) -> list[Row]:
    return [row for rate in config.e2e_rates for row in run_at(config, rate)]


def run_at(config: Config, rate: float) -> list[Row]:
    stats = {name: Stat() for name in ("e2e_p50", "e2e_p99", "post_p50", "post_p99")}
    unseen, probes, failures = 0, 0, 0
    for run_index in range(config.repeats):
        # A fresh database and namespace per run: a planner that fell behind in one run would
        # otherwise start the next by catching up with that backlog.
        with (
            infra.postgres_database("e2e") as database_url,
            infra.throwaway_topology(f"e2e{run_index}") as topology,
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
                prefix = f"e2e{rate:.0f}r{run_index}-"
                result = one_run(config, rate, traininglog.url, planner.url, prefix)
        for name, stat in stats.items():
            stat.add(result[name])
        unseen += result["unseen"]
        probes += result["probes"]
        failures += result["failures"]
    offered = f"{rate:.0f} events/s offered for {config.e2e_seconds:.0f} s"
    note = f"{probes} probes"
    if unseen:
        note += (
            f"; {unseen} unseen {config.e2e_deadline_s:.0f} s after the last answer: lower bound"
        )
    if failures:
        note += f"; {failures} POSTs failed"
    base = "due -> POST answered (traininglog alone)"
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
