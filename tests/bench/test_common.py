from __future__ import annotations

import subprocess
import sys
import time

from bench.common import PeakRss

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
