"""`python -m bench.soak [--minutes 30] [--rate 50] [--traininglogs 2] [--planners 2]`

The soak (`make soak`): the whole system as processes on this machine — traininglog processes
(each with its outbox relay) behind haproxy (deploy/haproxy/traininglog.cfg; one process stands
behind both its server lines), planner processes sharing the partitions, on a PostgreSQL database of its own, a throwaway
broker namespace on the real RabbitMQ, the write limit in Redis — offered realistic events
open-loop at a fixed rate (event i is due at i/rate whatever the answers to earlier ones, and
its latency counts from then). Every 10th event is a probe: once its POST answered, it is asked
for through the planner (GET /v1/users/{id}/routine) until its position is applied.

Every minute it prints one row: per process the RSS (and the private memory of the PostgreSQL
backends serving the soak's databases, and this driver's own RSS), the events queued in the
planner's partition queues and its dead letters (passive declares), traininglog's outbox backlog
(the relay's), the feed lag (traininglog's feed head minus the highest position the planners
applied) and the events stored but not applied, and over that minute's answers the p99 of due ->
POST answered and of due -> routine visible, with the probes still unseen. At the end it waits
for the planners to apply everything, judges every series (bench/growth.py: a fit over the last
two thirds of the minutes) and prints the whole table and which series grew. The table is also
written to bench/results/soak-latest.md. Exit status 1 when a series grew, a POST failed or an
event stayed unapplied.
"""

import argparse
import collections
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pika
import psycopg
import requests
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy.engine import make_url

from backtrack_shared.logs import configure_logging
from bench import infra
from bench.fig5_end_to_end import authorized_session, percentile
from bench.fleet import Fleet, fleet
from bench.growth import Verdict, judge
from bench.harness import machine_info
from bench.workload import workload

PROBE_EVERY = 10
PROBES_PER_ROUND = 4  # the oldest pending probes asked for each round
PROBE_ROUND_S = 0.25
POST_WORKERS = 32
RESULTS = Path(__file__).parent / "results" / "soak-latest.md"
# After the last POST: how long the planners may take to apply what is left.
DRAIN_S = 300
# The rise over the judged minutes too small to call growth, per unit of a column.
FLOORS = {"MiB": 5.0, "ms": 100.0, "events": 50.0, "probes": 10.0}


# --- what is measured each minute ------------------------------------------------------------


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (`field` of /proc/PID/status), in MiB; NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Gauges:
    """The figures read from outside the services: processes, broker, database, feed."""

    def __init__(self, system: Fleet) -> None:
        self.system = system
        self.database = psycopg.connect(_dsn(system.database_url), autocommit=True)
        self.broker = pika.BlockingConnection(pika.URLParameters(infra.AMQP_URL))
        self.feed = requests.Session()
        self.feed.headers["Authorization"] = f"Bearer {infra.credentials().planner_key}"

    def close(self) -> None:
        self.database.close()
        with contextlib.suppress(Exception):
            self.broker.close()

    def queue_depth(self, queue: str) -> int:
        channel = self.broker.channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        except ChannelClosedByBroker:  # not declared (yet): nothing in it
            return 0
        finally:
            if channel.is_open:
                channel.close()

    def postgres_backends_mib(self) -> float:
        databases = [make_url(self.system.database_url).database]
        databases.append(make_url(infra.keys_url(self.system.database_url)).database)
        rows = self.database.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", (databases,)
        ).fetchall()
        # Private memory alone (RssAnon): a backend's RSS also counts every page of the shared
        # buffers it has touched, which grows towards shared_buffers and is one memory for all.
        sizes = [rss_mib(pid, "RssAnon") for (pid,) in rows]
        return sum(size for size in sizes if size == size)  # NaN: gone meanwhile

    def one(self, sql: str) -> int:
        row = self.database.execute(sql).fetchone()
        return int(row[0] or 0) if row else 0

    def read(self) -> dict[str, float]:
        figures: dict[str, float] = {}
        for name, pid in self.system.pids().items():
            figures[f"rss {name} MiB"] = rss_mib(pid)
        figures["rss postgres private MiB"] = self.postgres_backends_mib()
        figures["rss soak MiB"] = rss_mib(os.getpid())
        topology = self.system.topology
        figures["queued events"] = sum(self.queue_depth(q) for q in topology.partition_queues)
        figures["dead letters events"] = self.queue_depth(topology.dead_letter_queue)
        figures["outbox events"] = self.one("SELECT count(*) FROM event_outbox")
        applied = self.one("SELECT max(applied_position) FROM planner_users")
        try:
            page = self.feed.get(f"{self.system.url}/v1/feed", params={"limit": 1}, timeout=30)
            page.raise_for_status()
            figures["feed lag events"] = max(int(page.json()["head"]) - applied, 0)
        except requests.RequestException:  # no answer in time: no figure this minute
            figures["feed lag events"] = float("nan")
        figures["unapplied events"] = self.one(
            "SELECT (SELECT count(*) FROM events) - (SELECT count(*) FROM planner_events)"
        )
        return figures


# --- the load --------------------------------------------------------------------------------


@dataclass
class Probe:
    user_id: str
    position: int
    due: float
    last_answer: str = "not asked"  # the last answer to the probe's GET, while unseen


@dataclass
class Window:
    """What answered during one minute."""

    post_latencies: list[float] = field(default_factory=list)
    visible_latencies: list[float] = field(default_factory=list)
    failures: int = 0


class Load:
    def __init__(self, traininglog_url: str, planner_urls: list[str]) -> None:
        self.traininglog_url, self.planner_urls = traininglog_url, planner_urls
        self.lock = threading.Lock()
        self.window = Window()
        self.pending: list[Probe] = []
        self.failures = 0
        self.posted = 0
        self.not_sent = 0  # due, but not sent when the minutes were over
        self.closed = threading.Event()
        self.sessions = threading.local()

    def take_window(self) -> tuple[Window, list[Probe]]:
        with self.lock:
            window, self.window = self.window, Window()
            return window, list(self.pending)

    def session(self) -> requests.Session:
        if not hasattr(self.sessions, "session"):
            self.sessions.session = authorized_session()
        return self.sessions.session

    def post(self, index: int, document: dict, due: float) -> None:
        if self.closed.is_set():
            with self.lock:
                self.not_sent += 1
            return
        try:
            answer = self.session().post(
                f"{self.traininglog_url}/v1/events", json=document, timeout=120
            )
            answer.raise_for_status()
        except requests.RequestException:
            with self.lock:
                self.window.failures += 1
                self.failures += 1
            return
        answered = time.monotonic()
        with self.lock:
            self.posted += 1
            self.window.post_latencies.append(answered - due)
            if index % PROBE_EVERY == 0:
                self.pending.append(Probe(document["user_id"], answer.json()["position"], due))

    def prober(self, stop: threading.Event) -> None:
        """Ask for the oldest pending probes (a few, not all: a backlog of probes would load the
        planners it measures), through the planners in turn; the planners apply each partition
        in its own order, so a younger probe may show before an older one."""
        session = authorized_session()
        turn = 0
        while not stop.is_set():
            with self.lock:
                oldest = self.pending[:PROBES_PER_ROUND]
            for probe in oldest:
                turn += 1
                planner = self.planner_urls[turn % len(self.planner_urls)]
                try:
                    answer = session.get(f"{planner}/v1/users/{probe.user_id}/routine", timeout=30)
                except requests.RequestException as err:
                    probe.last_answer = type(err).__name__
                    continue
                applied = answer.json().get("applied_position") if answer.ok else None
                probe.last_answer = f"{answer.status_code} applied {applied} < {probe.position}"
                if applied is not None and applied >= probe.position:
                    seen = time.monotonic()
                    with self.lock:
                        self.pending.remove(probe)
                        self.window.visible_latencies.append(seen - probe.due)
            stop.wait(PROBE_ROUND_S)

    def offer(self, documents: Iterable[dict], rate: float) -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(POST_WORKERS) as pool:
            for index, document in enumerate(documents):
                if self.closed.is_set():
                    break
                due = start + index / rate
                time.sleep(max(0.0, due - time.monotonic()))
                pool.submit(self.post, index, document, due)


def minute_row(minute: int, window: Window, pending: list[Probe], gauges: dict) -> dict:
    now = time.monotonic()

    def p99_ms(values: list[float]) -> float:
        return percentile(values, 0.99) * 1e3 if values else float("nan")

    return {
        "minute": minute,
        "UTC": datetime.now(UTC).strftime("%H:%M"),
        "posted": len(window.post_latencies),
        "failed": window.failures,
        "p99 POST ms": p99_ms(window.post_latencies),
        "p99 visible ms": p99_ms(window.visible_latencies),
        "unseen probes": len(pending),
        "oldest unseen ms": max((now - p.due for p in pending), default=0.0) * 1e3,
        **gauges,
    }


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if value != value else f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"
    return str(value)


def markdown(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def judged_columns(rows: list[dict]) -> list[Verdict]:
    verdicts = []
    for column in rows[0]:
        unit = column.rsplit(" ", 1)[-1]
        if unit not in FLOORS:
            continue
        values = [row[column] for row in rows if row[column] == row[column]]  # no NaN
        verdicts.append(judge(column, values, FLOORS[unit]))
    return verdicts


def soak(args: argparse.Namespace, log_dir: Path) -> tuple[list[dict], dict[str, object]]:
    count = int(args.rate * args.minutes * 60)
    print(f"preparing {count} events ...", file=sys.stderr, flush=True)
    # Made as they are sent: 90,000 documents held at once would be this driver's RSS.
    documents = workload(count, prefix=f"soak{os.getpid()}-").documents()
    rows: list[dict] = []
    with fleet(args.traininglogs, args.planners, log_dir) as system:
        load = Load(system.url, [p.url for p in system.planners])
        gauges = Gauges(system)
        stop = threading.Event()
        prober = threading.Thread(target=load.prober, args=(stop,), daemon=True)
        offerer = threading.Thread(target=load.offer, args=(documents, args.rate))
        prober.start()
        started = time.monotonic()
        offerer.start()
        try:
            for minute in range(1, args.minutes + 1):
                time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
                window, pending = load.take_window()
                row = minute_row(minute, window, pending, gauges.read())
                if not rows:
                    print(markdown([row]), flush=True)
                else:
                    print(markdown([row]).splitlines()[-1], flush=True)
                rows.append(row)
            load.closed.set()  # what is not sent by now is not sent; what is in flight ends
            offerer.join()
            # Every POST answered: how long until the planners applied everything.
            drained_after = float("nan")
            drain_start = time.monotonic()
            while time.monotonic() - drain_start < DRAIN_S:
                if gauges.read()["unapplied events"] == 0:
                    drained_after = time.monotonic() - drain_start
                    break
                time.sleep(1)
            while load.pending and time.monotonic() - drain_start < DRAIN_S:
                time.sleep(1)  # the prober asks for the last probes
            final = gauges.read()
        finally:
            load.closed.set()
            stop.set()
            prober.join()
            gauges.close()
    ending = {
        "posted": load.posted,
        "failed": load.failures,
        "due but not sent (overload)": load.not_sent,
        "unapplied at the end": final["unapplied events"],
        "dead letters at the end": final["dead letters events"],
        "applied everything after the last answer s": drained_after,
        "probes never seen": len(load.pending),
    }
    answers = collections.Counter(probe.last_answer.split(" applied")[0] for probe in load.pending)
    if answers:
        ending["their last answers"] = dict(answers)
    return rows, ending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--rate", type=float, default=50, help="events per second offered")
    parser.add_argument("--traininglogs", type=int, default=2, choices=(1, 2))
    parser.add_argument("--planners", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="soak_logs_"))
    configure_logging("soak", "INFO", stream=open(os.devnull, "w"))  # noqa: SIM115
    # A stop (Ctrl-C, SIGTERM, SIGHUP) unwinds: the processes stop, the database and the
    # namespace are deleted.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    began = datetime.now(UTC)
    rows, ending = soak(args, log_dir)
    verdicts = judged_columns(rows)
    grew = [v for v in verdicts if v.grew]
    lines = [
        f"{v.name}: {v.slope_per_minute:+.2f}/min over the last {v.judged_minutes} minutes, "
        f"rise {v.rise:+.1f} (bounded up to {v.allowed:.1f}){'  GREW' if v.grew else ''}"
        for v in verdicts
    ]
    verdict = (
        "nothing grew without bound" if not grew else "grew: " + ", ".join(v.name for v in grew)
    )
    summary = ", ".join(f"{k} {_cell(v)}" for k, v in ending.items())
    table = markdown(rows)
    report = (
        f"{table}\n\n{summary}\n\nVerdict: {verdict} (fit over the last two thirds of the "
        "minutes, bench/growth.py):\n\n" + "\n".join(f"- {line}" for line in lines)
    )
    print("\n" + report)
    print(f"\nlogs in {log_dir}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f"# Soak ({args.minutes} min at {args.rate:g} events/s, {args.traininglogs} traininglog, "
        f"{args.planners} planner processes)\n\n{began:%Y-%m-%d %H:%M UTC}, "
        f"`python -m bench.soak {' '.join(sys.argv[1:])}`\n\n{report}\n\n"
        f"## Machine\n\n{machine_info(_postgres_version())}\n"
    )
    failed = bool(grew) or bool(ending["failed"]) or bool(ending["unapplied at the end"])
    return 1 if failed else 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _postgres_version() -> str:
    with psycopg.connect(_dsn(infra.POSTGRES_URL)) as connection:
        row = connection.execute("SELECT version()").fetchone()
    return row[0] if row else "unknown"


if __name__ == "__main__":
    sys.exit(main())
