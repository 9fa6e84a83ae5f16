"""Section 6: polling with 1, 2 and 4 worker processes on one PostgreSQL database.

Only with STORYWATCH_TEST_POSTGRES_URL (a fresh database is created and dropped).
Each worker is a separate process with the bot's own services (its own parse pool),
polling until no due feed is left, claiming 50 feeds at a time. Per worker count:
a changed phase (every feed has 50 new items) and an unchanged 304 phase. The feed
server counts requests per feed: every feed must be fetched exactly once per phase,
so any feed fetched twice is a double poll and any not fetched is a missed one. Each
worker loads the open stories when it starts and takes in the others' stories every 2 s,
as the bot does ("stories taken in": the stories another worker saved, merged into this
one's grouper; ``--no-sync`` turns that off, to see what it costs). "Stories opened" counts
the stories the phase's items went to that no earlier phase had; "folded": stories a
worker opened for news another worker had opened first, found when it wrote them
(``StoryBook.fold_new``; ``--no-fold`` saves them as they are, to compare).

    STORYWATCH_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python -m bench.scaleout [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import func, select

from bench.common import feed_url, markdown_table
from bench.cycles import catch_up, first_poll_until_done, make_due
from bench.feedserver import FeedServerProcess
from bench.pg import admin_url, fresh_database
from bench.pipeline import add_feeds, open_services, poll_settings
from bench.scaleout_worker import worker_main
from bot.services import Services
from db.models import Item

WORKER_COUNTS = (1, 2, 4)
CONCURRENCY = 50
CLAIM = 50
READY_TIMEOUT = 120.0


class Workers:
    """k worker processes, started and warmed up before anything is timed."""

    def __init__(self, count: int, database_url: str, stories: bool, sync: bool, fold: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(database_url, CONCURRENCY, CLAIM, stories, sync, fold, child),
                daemon=False,  # a daemonic process may not start its own parse pool
            )
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(READY_TIMEOUT):
                raise RuntimeError("a poll worker did not start")
            pipe.recv()

    async def run_phase(self) -> tuple[float, list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        for pipe in self.pipes:
            pipe.send("go")
        results = await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for pipe in self.pipes))
        return time.perf_counter() - started, list(results)

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
            pipe.close()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


async def _story_count(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count(func.distinct(Item.story_id)))) or 0)


async def run_async(feeds: int, *, stories: bool = True, sync: bool = True, fold: bool = True) -> dict[str, Any]:
    admin = admin_url()
    if not admin:
        return {"skipped": "STORYWATCH_TEST_POSTGRES_URL is not set"}
    server = FeedServerProcess(feeds)
    server.start()
    try:
        async with fresh_database(admin, "scaleout") as database_url:
            settings = poll_settings(database_url, concurrency=CONCURRENCY)
            services = await open_services(settings)
            try:
                urls = [feed_url(server.port, i) for i in range(feeds)]
                await add_feeds(services, urls)
                await server.set_mode(version=1, validators=True)
                setup_errors = await first_poll_until_done(services, feeds, stories=stories)
                rows: list[dict[str, Any]] = []
                settling: dict[int, int | None] = {}
                version = 1
                for count in WORKER_COUNTS:
                    workers = Workers(count, database_url, stories, sync, fold)
                    try:
                        version += 1
                        await server.set_mode(version=version, validators=True)
                        for phase in ("changed: 50 new items/feed", "unchanged: 304"):
                            if phase.startswith("unchanged"):
                                settling[count] = await catch_up(services, feeds, stories=stories)
                            await make_due(services)
                            await server.reset()
                            known_stories = await _story_count(services)
                            seconds, results = await workers.run_phase()
                            hits = await server.hits()
                            row = _row(count, phase, feeds, seconds, results, hits)
                            row["stories_opened"] = await _story_count(services) - known_stories
                            rows.append(row)
                            print(
                                f"  {count} worker(s), {phase}: {feeds / seconds:,.0f} feeds/s",
                                flush=True,
                            )
                    finally:
                        workers.stop()
                return {
                    "feeds": feeds,
                    "claim": CLAIM,
                    "concurrency": CONCURRENCY,
                    "stories": stories,
                    "sync": sync,
                    "fold": fold,
                    "setup_errors": setup_errors,
                    # Untimed catch-up cycles between the changed and the 304 phase.
                    "settling_cycles": settling,
                    "rows": rows,
                }
            finally:
                await services.close()
    finally:
        await server.close_control()
        server.stop()


def _row(
    workers: int, phase: str, feeds: int, seconds: float, results: list[dict[str, Any]], hits: Any
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result["statuses"])
    crashes = [crash for r in results for crash in r["crashes"]]
    return {
        "workers": workers,
        "phase": phase,
        "seconds": round(seconds, 2),
        "feeds_per_s": round(feeds / seconds, 1),
        "per_worker_polled": [r["polled"] for r in results],
        "statuses": dict(statuses),
        "double_polls": hits.fetched_more_than_once(),
        "missed": sum(1 for n in hits.per_feed if n == 0),
        "http": hits.statuses,
        "crashes": crashes,
        "outcomes_lost_to_crashes": sum(1 for n in hits.per_feed if n) - sum(r["polled"] for r in results),
        "stories_taken_in": sum(r["stories_taken_in"] for r in results),
        "stories_folded": sum(r["stories_folded"] for r in results),
    }


def run(
    quick: bool, *, feeds: int | None = None, stories: bool = True, sync: bool = True, fold: bool = True
) -> dict[str, Any]:
    return asyncio.run(run_async(feeds or (300 if quick else 1_000), stories=stories, sync=sync, fold=fold))


def markdown(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Skipped: {result['skipped']}."
    rows = [
        [
            r["workers"],
            r["phase"],
            f"{r['feeds_per_s']:,.0f}",
            f"{r['seconds']:.1f}",
            " / ".join(str(n) for n in r["per_worker_polled"]),
            ",".join(f"{k}={v}" for k, v in sorted(r["statuses"].items())),
            r["double_polls"],
            r["missed"],
            f"{r['stories_opened']:,}",
            f"{r['stories_taken_in']:,}",
            f"{r['stories_folded']:,}",
            (f"{len(r['crashes'])} cycles raised: " + r["crashes"][0][:100].replace("\n", " "))
            if r["crashes"]
            else "-",
        ]
        for r in result["rows"]
    ]
    head = (
        f"{result['feeds']:,} feeds on PostgreSQL, each worker claiming {result['claim']} "
        f"at a time, concurrency {result['concurrency']} per worker"
        + ("" if result["stories"] else ", story grouping OFF")
        + ("" if result.get("sync", True) else ", story sync OFF")
        + ("" if result.get("fold", True) else ", folding OFF")
        + "."
    )
    head += (
        " Untimed catch-up cycles before each 304 phase (1 = nothing left behind): "
        + ", ".join(
            f"{k} worker(s): {'never settled' if v is None else v}" for k, v in result["settling_cycles"].items()
        )
        + "."
    )
    if result["setup_errors"]:
        head += (
            f" The set-up (baseline) poll needed {len(result['setup_errors']) + 1} cycles; "
            f"it raised: {result['setup_errors'][0][:150]}".replace("\n", " ")
        )
    table = markdown_table(
        ["workers", "phase", "feeds/s", "s", "polled per worker", "outcomes",
         "double polls", "missed", "stories opened", "stories taken in", "folded", "errors"],
        rows,
    )  # fmt: skip
    return f"{head}\n\n{table}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="300 feeds instead of 1,000")
    parser.add_argument("--feeds", type=int, default=None)
    parser.add_argument("--no-stories", action="store_true", help="poll without story grouping (diagnosis)")
    parser.add_argument("--no-sync", action="store_true", help="workers never take in each other's stories")
    parser.add_argument("--no-fold", action="store_true", help="writes never fold a new story into another's")
    args = parser.parse_args()
    result = run(
        args.quick, feeds=args.feeds, stories=not args.no_stories, sync=not args.no_sync, fold=not args.no_fold
    )
    print(markdown(result))


if __name__ == "__main__":
    main()
