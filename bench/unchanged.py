"""Unchanged feeds at the issue's size: 304 polling of 5,000 feeds against the bare loop.

``bench.polling`` reaches its 304 phases only after a first poll and a changed phase,
which at 5,000 feeds take most of an hour on a slow machine. Here every feed starts as
after its baseline poll (its ETag stored, as ``bench.memory`` sets them up), so the 304
phases run at once, with the same pipeline, the same baseline and the same checks:
each round, alternating, the bare aiohttp loop with If-None-Match (a new connection per
request), one ``poll_due_feeds`` cycle over every feed, and the bot's own scheduling
(ticks that start ``keep_dispatching``). No follows, no stored items: what a 304 costs
does not depend on them.

    python -m bench.unchanged [--feeds 5000] [--rounds 5]   (the suite's --quick: 1,000 feeds, 3 rounds)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.common import feed_url, markdown_table
from bench.feeddocs import version_etag
from bench.feedserver import FeedServerProcess
from bench.pipeline import add_feeds, feed_ids_in_order, mark_polled, open_services, poll_settings
from bench.polling import (
    BARE_304,
    CONCURRENCY,
    NOT_MODIFIED,
    NOT_MODIFIED_TICKS,
    TARGET_304_RATE,
    TARGET_304_RATIO,
    Bench,
)
from bot.heap import settle_heap
from bot.services import Services

FEEDS = 5_000
QUICK_FEEDS = 1_000


async def run_async(feeds: int, *, rounds: int, workdir: Path) -> dict[str, Any]:
    server = FeedServerProcess(feeds)
    server.start()
    services: Services | None = None
    try:
        urls = [feed_url(server.port, i) for i in range(feeds)]
        services = await open_services(
            poll_settings(f"sqlite+aiosqlite:///{workdir / 'poll.db'}", concurrency=CONCURRENCY)
        )
        await add_feeds(services, urls)
        await mark_polled(services, await feed_ids_in_order(services, urls))
        await server.set_mode(version=1, validators=True)
        bench = Bench(services, server, urls, stories=True)
        etags = [version_etag(i, 1) for i in range(feeds)]
        settle_heap()  # as the bot does at startup
        with bench.rss:
            for _ in range(rounds):
                await bench.measure(
                    BARE_304, "baseline", lambda: bench.bare(etags=etags, expected_status=304, keep=None)
                )
                await bench.poll(NOT_MODIFIED, "unchanged")
                await bench.ticks()
        return {"feeds": feeds, "rounds": rounds, "phases": [p.as_dict() for p in bench.phases.values()]}
    finally:
        if services is not None:
            await services.close()
        await server.close_control()
        server.stop()


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-304-") as tmp:
        return asyncio.run(run_async(QUICK_FEEDS if quick else FEEDS, rounds=3 if quick else 5, workdir=Path(tmp)))


def markdown(result: dict[str, Any]) -> str:
    phases = {p["name"]: p for p in result["phases"]}
    bare = phases[BARE_304]["feeds_per_s"]
    rows = [
        [
            p["name"],
            f"{p['feeds_per_s']:,.0f}",
            f"{min(p['all_rounds_feeds_per_s']):,.0f}-{max(p['all_rounds_feeds_per_s']):,.0f}",
            f"{p['feeds_per_s'] / bare:.0%}",
            f"{p['cpu_s_per_feed'] * 1000:.2f}",
            "yes" if p["ok"] else "NO",
        ]
        for p in result["phases"]
    ]
    table = markdown_table(
        ["phase", "feeds/s (median)", "range", "of the bare loop", "CPU ms/feed", "every feed polled once"], rows
    )
    cycle, ticks = phases[NOT_MODIFIED]["feeds_per_s"], phases[NOT_MODIFIED_TICKS]["feeds_per_s"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    targets = (
        f"Targets: {TARGET_304_RATIO:.0%} of the bare loop: {verdict(cycle >= TARGET_304_RATIO * bare)} through "
        f"one cycle, {verdict(ticks >= TARGET_304_RATIO * bare)} through the ticks; "
        f"{TARGET_304_RATE:,.0f} feeds/s: {verdict(max(cycle, ticks) >= TARGET_304_RATE)}."
    )
    return f"{result['feeds']:,} feeds, all 304, {result['rounds']} rounds; SQLite.\n\n{table}\n\n{targets}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sw-bench-304-") as tmp:
        print(markdown(asyncio.run(run_async(args.feeds, rounds=args.rounds, workdir=Path(tmp)))))


if __name__ == "__main__":
    main()
