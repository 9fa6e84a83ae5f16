"""Items per second: our parse_feed against plain feedparser.parse, same documents.

Both run over every real document in ../shared/feeds/real in the same pool of two
worker processes (as production does), alternating round by round so machine noise
hits both alike. Workers return item counts only, so the comparison is parsing work.

    python -m bench.parsing [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import feedparser  # the baseline being compared against

from bot.feeds.parser import parse_feed

REAL_FEEDS = Path(__file__).resolve().parents[1] / ".." / "shared" / "feeds" / "real"
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
WORKERS = 2


def count_with_parse_feed(body: bytes) -> int:
    return len(parse_feed(body, url="https://bench.example/feed", fetched_at=FETCHED_AT).items)


def count_with_feedparser(body: bytes) -> int:
    return len(feedparser.parse(io.BytesIO(body)).entries)


def timed_round(pool: ProcessPoolExecutor, count: Callable[[bytes], int], bodies: Sequence[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    items = sum(pool.map(count, bodies, chunksize=1))
    return time.perf_counter() - started, items


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=5)
    rounds = arguments.parse_args().rounds

    bodies = [path.read_bytes() for path in sorted(REAL_FEEDS.glob("*.xml"))]
    contenders = {"feedparser.parse": count_with_feedparser, "parse_feed": count_with_parse_feed}
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    items: dict[str, int] = {}
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        for count in contenders.values():
            timed_round(pool, count, bodies)  # warm-up: imports happen in the workers
        for round_number in range(rounds):
            order = list(contenders.items())
            if round_number % 2:
                order.reverse()
            for name, count in order:
                elapsed, items[name] = timed_round(pool, count, bodies)
                seconds[name].append(elapsed)

    total_bytes = sum(map(len, bodies))
    print(
        f"{len(bodies)} documents, {total_bytes / 1e6:.1f} MB, {WORKERS} workers, {rounds} rounds (median round shown)"
    )
    print(f"{'parser':<18}{'items':>7}{'median s':>10}{'best s':>8}{'items/s':>9}{'docs/s':>8}")
    for name in contenders:
        median = statistics.median(seconds[name])
        print(
            f"{name:<18}{items[name]:>7}{median:>10.3f}{min(seconds[name]):>8.3f}"
            f"{items[name] / median:>9.0f}{len(bodies) / median:>8.1f}"
        )
    ratio = statistics.median(seconds["parse_feed"]) / statistics.median(seconds["feedparser.parse"])
    print(f"parse_feed takes {ratio:.2f}x the time of feedparser.parse alone")


if __name__ == "__main__":
    main()
