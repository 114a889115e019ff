"""`python -m tests.simulation --patients N --weeks W --seed S`: a randomized population of
simulated patients through the planner's rules, and a table of what it found."""

import argparse
import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from planner.domain.rules_table import RULES_VERSION
from tests.simulation.driver import PatientResult, simulate
from tests.simulation.patients import MODEL_NAMES, MODELS
from tests.simulation.report import invariant_table, model_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=26, help="weeks per patient (26-52)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", default="", help="comma-separated model names (default: all)")
    parser.add_argument(
        "--examples",
        nargs="?",
        const="",
        default=None,
        metavar="INVARIANT",
        help="print example findings (of the invariants whose name contains INVARIANT)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    models = [MODEL_NAMES[m] for m in args.models.split(",") if m] or list(MODELS)
    rng = random.Random(args.seed)
    started = time.monotonic()
    work = [
        (models[i % len(models)].model, rng.randrange(1 << 30), args.weeks)
        for i in range(args.patients)
    ]
    results = []
    with multiprocessing.Pool(args.jobs) if args.jobs > 1 else _InProcess() as pool:
        for i, result in enumerate(pool.imap(_simulate, work)):
            results.append(result)
            if (i + 1) % max(1, args.patients // 20) == 0 or i + 1 == args.patients:
                took = time.monotonic() - started
                print(f"[{i + 1}/{args.patients}] {took:.0f} s", file=sys.stderr, flush=True)
    took = time.monotonic() - started
    cpu = _cpu_seconds()
    events = sum(r.events for r in results)
    print(
        f"rules {RULES_VERSION}: {len(results)} patients x {args.weeks} weeks, seed {args.seed}, "
        f"{events} events; {took:.0f} s wall, {cpu:.0f} s CPU ({args.jobs} job(s))"
    )
    print()
    print(invariant_table(results))
    print()
    print(model_table(results))
    skipped = sum(r.acwr_skipped for r in results)
    off_plan = sum(r.off_plan_days for r in results)
    refolds = sum(r.refolds for r in results)
    print(
        f"\nB4 not judged at {skipped} sessions (no load in the 21 days before the last 7); "
        f"{off_plan} planned-day look-ups fell outside the routine's weekly plan; {refolds} refolds."
    )
    if args.examples is not None:
        for r in results:
            for name, found in sorted(r.examples.items()):
                if args.examples not in name:
                    continue
                for f in found:
                    print(f"{r.model}#{r.seed} {name}: {f}")
    violations = sum(sum(r.violations.values()) for r in results)
    return 1 if violations else 0


def _cpu_seconds() -> float:
    """CPU time of this process and its workers: the wall time depends on the machine's load."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _simulate(work: tuple[str, int, int]) -> PatientResult:
    model, seed, weeks = work
    return simulate(MODEL_NAMES[model], seed, weeks)


class _InProcess:
    """The Pool interface, run in this process (the default: the machine is shared)."""

    def __enter__(self) -> "_InProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        return map(fn, items)


if __name__ == "__main__":
    sys.exit(main())
