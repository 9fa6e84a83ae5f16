from __future__ import annotations

import gc
import subprocess
import sys
import time

from bench.common import CpuMeter, GcClock, PeakRss, Stopwatch

CHILD_BYTES = 100_000_000


def test_peak_rss_counts_a_child_started_after_it_began_sampling() -> None:
    with PeakRss(interval=0.01, tree_every=0.05) as rss:
        own = rss.sample()
        with subprocess.Popen(
            [sys.executable, "-c", f"import time; b = b'x' * {CHILD_BYTES}; print(flush=True); time.sleep(30)"],
            stdout=subprocess.PIPE,
        ) as child:
            assert child.stdout is not None
            child.stdout.readline()  # its memory is touched
            time.sleep(0.3)  # several tree listings and samples
            child.kill()
    assert rss.peak >= own + CHILD_BYTES * 0.9


def test_gc_clock_times_collections_only_while_entered() -> None:
    kept = [[index] for index in range(200_000)]  # tracked objects: a full collection has work
    with GcClock() as clock:
        gc.collect()
        inside = clock.seconds
    assert inside > 0
    gc.collect()
    assert clock.seconds == inside
    assert kept


def test_stopwatch_splits_this_process_from_the_total_and_reads_its_gc_clock() -> None:
    rss = PeakRss()
    with GcClock() as clock, Stopwatch(CpuMeter(), rss, clock) as watch:
        deadline = time.process_time() + 0.2
        while time.process_time() < deadline:
            pass
        gc.collect()
    measured = watch.measured
    assert 0.15 <= measured.own_cpu_seconds <= measured.cpu_seconds + 0.01
    assert 0 < measured.gc_seconds == clock.seconds
