"""Garbage-collector settings for a long-running service process.

Both services allocate many short-lived containers per event (decoded bodies, envelopes, rows),
and hold a page or a batch of them alive at once. With CPython's defaults (a young collection
every 700 allocations) such a page survives into the older generations, which then fill up and
trigger full collections that walk every object of the process: the modules, the ORM, the
schemas. Reading 20,000 events from the feed, 15 of them took 0.68 s of 2.3 s (bench/README.md).

`settle_after_startup` is called once everything is loaded: what exists then (code, tables,
schemas, settings) is frozen out of every future collection, and young collections run every
10,000 allocations, so a page is usually freed by reference counting before it is ever
collected. Cycles are still collected; only their scans are rarer and smaller.
"""

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default: 700


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
