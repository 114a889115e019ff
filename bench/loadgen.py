"""A closed-loop HTTP load generator, for figure 2 where `wrk` is not installed: CONCURRENCY
threads, each with its own requests.Session, POST one document per request (a line of the bodies
file, never the same one twice) for SECONDS, then print what `post_event.lua` prints. Every
request carries `Authorization: Bearer $BENCH_API_KEY` (the bench's client key).

`BENCH_API_KEY=bt_... python -m bench.loadgen URL BODIES_FILE CONCURRENCY SECONDS`
"""

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import requests


def main(url: str, bodies_file: str, concurrency: int, seconds: float) -> None:
    bodies = Path(bodies_file).read_text().splitlines()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds
    authorization = f"Bearer {os.environ.get('BENCH_API_KEY', '')}"

    def worker(index: int) -> None:
        session = requests.Session()
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        for body in bodies[index::concurrency]:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            answer = session.post(f"{url}/v1/events", data=body, headers=headers, timeout=30)
            latencies[index].append(time.perf_counter() - started)
            errors[index] += answer.status_code >= 300

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(value for own in latencies for value in own)
    cuts = statistics.quantiles(every, n=100)
    print(
        json.dumps(
            {
                "requests": len(every),
                "seconds": elapsed,
                "p50_ms": cuts[49] * 1e3,
                "p99_ms": cuts[98] * 1e3,
                "errors": sum(errors),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
