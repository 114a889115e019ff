"""`python -m bench [--quick] [--only 1,3] [--sizes 10000,100000] [--rebuild-sizes 2000,10000]
[--drain-events 20000]`

Runs every figure against the real RabbitMQ and PostgreSQL (and SQLite), prints one table of
figures beside their baselines, and writes it with the machine's description to
bench/results/latest.md.
"""

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from backtrack_shared.logs import configure_logging
from bench import infra
from bench.config import Config
from bench.harness import Row, machine_info, table

FIGURES = {
    "1": "bench.fig1_batch_ingest",
    "2": "bench.fig2_http_post",
    "3": "bench.fig3_relay",
    "4": "bench.fig4_planner_apply",
    "5": "bench.fig5_end_to_end",
    "6": "bench.fig6_replay",
    "7": "bench.fig7_ingest_vs_stored",
    "8": "bench.fig8_eventsourcing",
    "9": "bench.fig9_planner_drain",
    "10": "bench.fig10_traininglog_fleet",
    "11": "bench.fig11_fold",
}
RESULTS = Path(__file__).parent / "results" / "latest.md"


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(sorted(int(part.replace("_", "")) for part in text.split(",") if part))


def postgres_version() -> str:
    dsn = infra.POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT version()").fetchone()
    return row[0] if row else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (CI)")
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,3")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3, quick 1)")
    parser.add_argument(
        "--sizes", type=_sizes, help="stored events for figures 6-8 (default 10000,100000)"
    )
    parser.add_argument(
        "--rebuild-sizes",
        type=_sizes,
        help="events for the rule-bound rebuild of figure 6 (default 2000,10000)",
    )
    parser.add_argument(
        "--drain-events",
        type=int,
        help="the backlog of figure 9 (default 20000, quick 500)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    args = parser.parse_args(argv)

    log_dir = Path(tempfile.mkdtemp(prefix="bench_logs_"))
    config = Config.make(
        quick=args.quick,
        log_dir=log_dir,
        repeats=args.repeats,
        sizes=args.sizes,
        rebuild_sizes=args.rebuild_sizes,
        drain_events=args.drain_events,
    )
    # The services' own logging, as `serve` sets it up, but written nowhere: its cost stays in.
    configure_logging("bench", "INFO", stream=open(os.devnull, "w"))  # noqa: SIM115
    chosen = args.only.split(",") if args.only else list(FIGURES)

    started = time.monotonic()
    rows: list[Row] = []
    failed: list[str] = []
    for number in chosen:
        module = importlib.import_module(FIGURES[number])
        figure_started = time.monotonic()
        print(f"figure {number}: {module.__doc__.splitlines()[0]}", file=sys.stderr, flush=True)
        try:
            rows += module.run(config)
        except Exception:
            traceback.print_exc()
            failed.append(number)
        print(f"  ... {time.monotonic() - figure_started:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started

    mode = "quick" if config.quick else "full"
    result = table(rows)
    print(result)
    print(f"\n{mode} run, {config.repeats} run(s) per figure, {elapsed:.0f} s; logs in {log_dir}")
    if failed:
        print(f"figures that failed: {', '.join(failed)}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f"# Benchmark results ({mode} run)\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}, `python -m bench"
        f"{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`, "
        f"{config.repeats} run(s) per figure, {elapsed:.0f} s in all. "
        "Ratio = measured ÷ baseline (medians); ↑ higher is better, ↓ lower is better.\n\n"
        f"{result}\n\n## Machine\n\n{machine_info(postgres_version())}\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
