"""Keep the long-lived heap out of the garbage collector's full collections.

The follow index and the open stories are a million-odd container objects that live for
hours. CPython's full collection walks every one of them, and a cycle of 5,000 304 polls
triggered one or two, 1.2-3.0 s in all (measured with 20,000 open stories loaded). Frozen,
they are skipped: a full collection walks only what came since. Settling again every few
hours first unfreezes and collects everything, so cyclic garbage among objects frozen
earlier is still reclaimed; the price is one full collection per settle.

The young generation's threshold is raised too (``tune_collector``). At CPython's 700
allocations a burst of changed feeds ran thousands of young collections, and their
survivors (stories, items in flight) soon set off full ones over everything since the
last settle: 6.4-7.8 s of the process's 40-45 s of CPU in a ``bench.polling --quick`` run,
7 ms per changed feed. At 10,000 it is 3.0-4.2 s, 3.4-5.4 ms per changed feed (the
bench's ``--young-gc 700`` compares). Feeds a second moved less than the runs' noise. The
parse processes gained nothing measurable and keep the default.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("storywatch.heap")

YOUNG_GENERATION_THRESHOLD = 10_000


def tune_collector() -> None:
    """Collect the young generation every 10,000 net allocations instead of 700."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def settle_heap() -> int:
    """Collect everything once, then freeze what survived; returns how many are frozen."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap settled: %d objects frozen in %.2f s", frozen, time.perf_counter() - started)
    return frozen
