"""Figure 9: draining a backlog with 2 planner processes against 1: do partitions share the work.

A backlog of realistic events (20,000; quick: 500) is stored first: rows prefilled into
traininglog's store with their outbox rows, then `traininglog serve` relays them all into the
planner's partition queues (a throwaway namespace) while no planner runs. Then the planner
processes (`planner serve`, their tables migrated beforehand) are started together, and the
clock runs from their start until every stored event is applied (the planners' `planner_events`
holds as many rows as traininglog's `events`, whose last position is the feed's head), polled
every 0.2 s from the database.
Two rows: with the planners' catch-up checkpoint put at the feed's head beforehand (they had
followed the feed; the backlog is in the partition queues alone, which the instances share),
and as new planners on an empty database, whose start catches up with the feed from 0 (one
checkpoint for all instances: the catch-up is not split by partition) while the queues deliver
the same events again.
Measured: 2 planner processes, events per second.
Baseline: 1 planner process on the same backlog (a fresh database and namespace).
The ratio is the scaling of the drain; on a 2-core machine that also runs PostgreSQL, RabbitMQ
and the load, less than 2 is expected. Process start (imports, connecting) is inside the time.
"""

import time

import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat
from bench.workload import workload
from planner.adapters.tables import planner_checkpoints
from planner.service_layer.catch_up import CATCH_UP
from tests.support.processes import Service, free_port, stop

POLL_S = 0.2
TIMEOUT_S = 1800


def _count(connection: psycopg.Connection, table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _wait(
    connection: psycopg.Connection,
    until: str,
    done: int,
    what: str,
    processes: list[Service],
) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while _count(connection, until) != done:
        for process in processes:
            if process.process.poll() is not None:
                raise RuntimeError(f"{process.name} exited:\n{process.logs()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done in {TIMEOUT_S} s")
        time.sleep(POLL_S)


def drain(config: Config, planners: int, run_index: int, *, from_queues: bool) -> float:
    """Seconds from starting `planners` processes until they applied the whole backlog;
    `from_queues`: their catch-up checkpoint is at the feed's head already, so the partition
    queues alone bring the backlog (else a planner catches up with the feed from 0 on start)."""
    load = workload(config.drain_events, prefix=f"drain{run_index}p{planners}-")
    with (
        infra.postgres_database("drain") as database_url,
        infra.throwaway_topology(f"drain{planners}") as topology,
    ):
        with infra.traininglog_engine(database_url) as engine:
            infra.insert_rows(engine, load, outbox=True)
        # Migrated once, so that two planners starting together find their tables.
        with infra.planner_engine(database_url) as engine, engine.begin() as connection:
            if from_queues:
                connection.execute(
                    insert(planner_checkpoints), {"name": CATCH_UP, "position": len(load)}
                )
        dsn = make_url(database_url).set(drivername="postgresql")
        port = free_port()
        environ = infra.service_environ(database_url, topology, traininglog=port)
        # Not waited for until ready: on a loaded machine its start may take minutes, and
        # only its relay is needed (the planners read its feed once it answers).
        traininglog = infra.start(
            "traininglog",
            ["-m", "traininglog", "serve"],
            port=port,
            environ=environ,
            log_dir=config.log_dir,
        )
        processes = [traininglog]
        try:
            with psycopg.connect(dsn.render_as_string(hide_password=False)) as connection:
                connection.autocommit = True
                # The backlog is in the queues.
                _wait(connection, "event_outbox", 0, "the relay", processes)
                started = time.monotonic()
                for n in range(planners):
                    planner_port = free_port()
                    processes.append(
                        infra.start(
                            f"planner-drain{n + 1}",
                            ["-m", "planner", "serve"],
                            port=planner_port,
                            environ={**environ, "PLANNER_PORT": str(planner_port)},
                            log_dir=config.log_dir,
                        )
                    )
                done = f"{planners} planner(s)"
                _wait(connection, "planner_events", len(load), done, processes)
                return time.monotonic() - started
        finally:
            for process in reversed(processes):
                stop(process)


def run(config: Config) -> list[Row]:
    rows = []
    for from_queues in (True, False):
        one, two = Stat(), Stat()
        for run_index in range(config.repeats):
            one.add(config.drain_events / drain(config, 1, run_index, from_queues=from_queues))
            two.add(config.drain_events / drain(config, 2, run_index, from_queues=from_queues))
        how = (
            "from the partition queues (catch-up checkpoint at the head)"
            if from_queues
            else "by new planners (catch-up with the feed from 0 on start, and the queues)"
        )
        what = f"drain a backlog of {config.drain_events:,} events {how}, postgresql"
        rows.append(
            Row("9", f"{what}: 2 planner processes", two, "1 planner process", one, "events/s")
        )
    return rows
