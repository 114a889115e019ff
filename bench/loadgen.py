"""An HTTP load generator, for figures 2 and 5 where `wrk` is not installed: CONCURRENCY
threads, each with its own requests.Session, POST one document per request (a line of the bodies
file, never the same one twice) for SECONDS, then print what `post_event.lua` prints. Closed
loop (figure 2), or with `--rate R` open loop (figure 5, as `post_paced.lua`): request k is due
at k / R and waits for a free thread no longer than the threads are busy. Every request carries
`Authorization: Bearer $BENCH_API_KEY` (the bench's client key).

`BENCH_API_KEY=bt_... python -m bench.loadgen URL BODIES_FILE CONCURRENCY SECONDS [--rate R]`
"""

import argparse
import itertools
import json
import os
import statistics
import threading
import time
from pathlib import Path

import requests


def main(
    url: str, bodies_file: str, concurrency: int, seconds: float, rate: float | None = None
) -> None:
    bodies = Path(bodies_file).read_text().splitlines()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    began = time.perf_counter()
    deadline = began + seconds
    authorization = f"Bearer {os.environ.get('BENCH_API_KEY', '')}"
    taken = itertools.count()
    taking = threading.Lock()

    def worker(index: int) -> None:
        session = requests.Session()
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        own = iter(bodies[index::concurrency])
        while True:
            if rate is None:
                body = next(own, None)
            else:  # the next due request, whichever thread is free
                with taking:
                    k = next(taken)
                time.sleep(max(0.0, began + k / rate - time.perf_counter()))
                body = bodies[k] if k < len(bodies) else None
            if body is None or time.perf_counter() >= deadline:
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
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("url")
    parser.add_argument("bodies_file")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--rate", type=float, help="open loop: requests per second offered")
    args = parser.parse_args()
    main(args.url, args.bodies_file, args.concurrency, args.seconds, args.rate)
