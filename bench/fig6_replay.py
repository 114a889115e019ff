"""Figure 6: full replay of the log, each in a process of its own, with its peak RSS.

Measured:
- rebuild: `planner.service_layer.catch_up.rebuild` reading traininglog's feed (its reader, pages
  of 500, no HTTP hop) and applying every event with the full progression rules, at the
  rebuild sizes (the rules make it slow: the sizes of `--sizes` are opt-in here, see README);
- feed read: the same feed pages, without applying them, at every size of `--sizes`.
Baseline: a raw ordered scan of the same rows, `SELECT body FROM events ORDER BY position`
(server-side cursor) + json.loads, in a process of its own. The bodies are sealed, as the service
stores them, and a sealed body does not decode without its key: the scan joins in each user's
data key and opens the body before json.loads, so unsealing counts on both sides here.
RSS: peak resident set size (getrusage ru_maxrss) of the replaying process; its baseline is the
same process at the smallest size, so the ratio is how memory grows with the log.
"""

import json
import subprocess
import sys

from bench import infra
from bench.config import Config
from bench.harness import Row, Stat
from bench.workload import workload


def replay(mode: str, database_url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.replay_worker", mode, database_url],
        capture_output=True,
        text=True,
        check=False,
        cwd=infra.ROOT,
    )
    if done.returncode:
        raise RuntimeError(f"replay {mode} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "rate": result["events"] / result["seconds"],
        "rss": result["peak_rss_mib"],
        "events": result["events"],
    }


def measure(mode: str, database_url: str, size: int, repeats: int) -> dict[str, Stat]:
    stats = {"rate": Stat(), "rss": Stat()}
    for _ in range(repeats):
        result = replay(mode, database_url)
        assert result["events"] == size, (mode, result, size)
        stats["rate"].add(result["rate"])
        stats["rss"].add(result["rss"])
    return stats


def run(config: Config) -> list[Row]:
    sizes = sorted(set(config.sizes) | set(config.rebuild_sizes))
    rows, rss = [], {"feed": {}, "rebuild": {}, "raw": {}}
    for size in sizes:
        with (
            infra.postgres_database(f"replay{size}") as url,
            infra.traininglog_engine(url) as engine,
        ):
            infra.insert_rows(engine, workload(size, prefix="replay"), outbox=False)
            raw = measure("raw", url, size, config.repeats)
            rss["raw"][size] = raw["rss"]
            for mode in ("feed", "rebuild"):
                if mode == "rebuild" and size not in config.rebuild_sizes:
                    continue
                if mode == "feed" and size not in config.sizes:
                    continue
                # The rebuild runs once per size in the full run: it takes minutes (README).
                repeats = 1 if mode == "rebuild" and size >= 10_000 else config.repeats
                stats = measure(mode, url, size, repeats)
                rss[mode][size] = stats["rss"]
                what = "rebuild (full rules)" if mode == "rebuild" else "feed read, pages of 500"
                rows.append(
                    Row(
                        "6",
                        f"replay: {what}, {size:,} events",
                        stats["rate"],
                        "raw ordered scan + json.loads",
                        raw["rate"],
                        "events/s",
                    )
                )
                rows.append(
                    Row(
                        "6",
                        f"replay: {what}, {size:,} events: peak RSS",
                        stats["rss"],
                        "raw scan's peak RSS",
                        raw["rss"],
                        "MiB",
                        higher_is_better=False,
                    )
                )
    for mode, by_size in rss.items():
        if len(by_size) > 1:
            small, large = min(by_size), max(by_size)
            name = {"feed": "feed read", "rebuild": "rebuild", "raw": "raw scan"}[mode]
            rows.append(
                Row(
                    "6",
                    f"replay: {name} peak RSS at {large:,} events",
                    by_size[large],
                    f"the same at {small:,}",
                    by_size[small],
                    "MiB",
                    higher_is_better=False,
                )
            )
    return rows
