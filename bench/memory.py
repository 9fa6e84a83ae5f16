"""Section 7: resident memory of a poll worker holding a large deployment.

Set-up (untimed, in this process): a SQLite database with 5,000 feeds (served by the
benchmark feed server), 100,000 follows over 500 channels, and 30 days of stored items
built from the UCI headlines, spread evenly over the feeds and the days. The items of
the last 48 hours go through the StoryBook as ``bot.poll_store.store_new_items`` sends them, so
the stories table holds the open stories a bot loads at start. Every feed is marked
as polled at version 1 (its ETag stored, baseline done), so a poll is a 304.

Measurement, in a fresh process (``bench.memory_worker``, a poll worker as the bot
builds it): its VmRSS after imports and ``build_services`` (holding nothing), after
loading the follow matcher and the open stories (what ``setup_hook`` does), after one
poll cycle over every feed (all 304), and after a cycle in which 1% of the feeds have
50 new items each (the parse pool's processes start and parse them); then its peak
(VmHWM).
Its child processes are read too (the parse pool's and multiprocessing's resource
tracker, which the bot has as well): the target compares the worker's peak plus its
children's peaks (an upper bound: the peaks need not coincide) with 500 MB.

    python -m bench.memory [--quick] [--items N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Headline, feed_url, load_headlines, markdown_table
from bench.feedserver import FeedServerProcess
from bench.memory_worker import CONCURRENCY
from bench.pipeline import (
    add_feeds,
    add_follows,
    feed_ids_in_order,
    follow_texts,
    mark_polled,
    open_services,
    poll_settings,
)
from bot.feeds.dedup import canonical_link
from bot.ingest import search_text_of
from bot.prepare import row_fingerprint
from bot.records import ItemRow
from bot.services import Services
from db.repo import items as item_repo

FEEDS = 5_000
FOLLOWS = 100_000
CHANNELS = 500
GUILD_ID = 7_000
FIRST_USER_ID = 70_000_000
FOLLOW_SEED = 20140514
DAYS = 30
FULL_ITEMS = 300_000
QUICK_ITEMS = 60_000
CHANGED_FEEDS = 50  # 1% of the feeds change in the last measured cycle
FEEDS_PER_TRANSACTION = 100
STORY_SAVE_CHUNK = 1_000
TARGET_MB = 500.0
READY_TIMEOUT = 300.0
STAGE_TIMEOUT = 1_800.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """The measured process, ``bench.memory_worker``: a program of its own, started from
    nothing, whose parse pool imports what the bot's does (see that module)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, database_url: str) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.memory_worker",
            database_url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=PROJECT_ROOT,
        )
        return cls(process)

    async def receive(self, within: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
        except TimeoutError:
            raise RuntimeError(f"the measured worker sent nothing within {within:.0f} s") from None
        if not line:
            raise RuntimeError(f"the measured worker exited (code {await self.process.wait()})")
        message: dict[str, Any] = json.loads(line)
        return message

    async def send(self, command: dict[str, Any] | None) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def poll(self, stage: str, expected: dict[str, int]) -> dict[str, Any]:
        await self.send({"stage": stage, "expected": expected, "limit": FEEDS})
        return await self.receive(STAGE_TIMEOUT)

    async def finish(self) -> dict[str, Any]:
        await self.send(None)
        return await self.receive(READY_TIMEOUT)

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.terminate()
            await self.process.wait()


async def measure(database_url: str, server: FeedServerProcess) -> list[dict[str, Any]]:
    worker = await Worker.start(database_url)
    try:
        stages = [await worker.receive(READY_TIMEOUT), await worker.receive(READY_TIMEOUT)]
        print("  measuring: 304 cycle", flush=True)
        stages.append(await worker.poll(f"+ one poll cycle, {FEEDS:,} feeds, all 304", {"unchanged": FEEDS}))
        for feed in changed_feeds():
            await server.change_feed(feed, 2)
        print(f"  measuring: cycle with {CHANGED_FEEDS} changed feeds", flush=True)
        stages.append(
            await worker.poll(
                f"+ one poll cycle, {CHANGED_FEEDS} feeds with 50 new items, the rest 304",
                {"new": CHANGED_FEEDS, "unchanged": FEEDS - CHANGED_FEEDS},
            )
        )
        stages.append(await worker.finish())
        return stages
    finally:
        await worker.stop()


def changed_feeds() -> list[int]:
    return [k * (FEEDS // CHANGED_FEEDS) for k in range(CHANGED_FEEDS)]


# --- set-up (untimed, in this process) ------------------------------------------------


@contextlib.contextmanager
def step(timings: dict[str, float], name: str) -> Iterator[None]:
    print(f"  set-up: {name} ...", flush=True)
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 1)
    print(f"  set-up: {name}: {timings[name]} s", flush=True)


def published_at(index: int, items: int, now: datetime) -> datetime:
    """Item ``index`` of ``items``, evenly spread over the last DAYS days (newest last)."""
    span = timedelta(days=DAYS)
    return now - span + span * ((index + 0.5) / items)


def make_row(headlines: Sequence[Headline], index: int, items: int, now: datetime) -> ItemRow:
    """Item ``index``: a real headline (cycled), made unique by its guid and link."""
    row = headlines[index % len(headlines)]
    follow_on = headlines[(index + 1) % len(headlines)]
    joiner = "&" if "?" in row.url else "?"
    link = f"{row.url}{joiner}swmem={index}"
    summary = f"{row.title} {row.publisher} reports. Also today: {follow_on.title}"
    categories = (row.publisher,)
    article = canonical_link(link)
    return ItemRow(
        keys=(f"g:sw-mem-{index}", f"l:{article}"),  # guid and link keys, as bot.ingest makes
        article_key=article,
        title=row.title,
        link=link,
        summary=summary,
        author=None,
        categories=categories,
        image=None,
        source_name=None,
        published_at=published_at(index, items, now),
        search_text=search_text_of(row.title, summary, categories),
    )


def recent_start(items: int, now: datetime, window: timedelta) -> int:
    """The first item index inside the story window (items are in time order)."""
    return next((i for i in range(items) if published_at(i, items, now) >= now - window), items)


async def group_recent(services: Services, headlines: Sequence[Headline], items: int, now: datetime) -> dict[int, str]:
    """Story ids for the items of the story window, assigned in time order as polls would,
    the stories saved as ``bot.poll_store.store_new_items`` saves them; returns item index -> story id."""
    start = recent_start(items, now, services.stories.window)
    rows = [make_row(headlines, i, items, now) for i in range(start, items)]
    prints = [row_fingerprint(row, now) for row in rows]  # as the parse pool computes them
    assigned, stories = services.stories.assign(rows, prints)
    for chunk in range(0, len(stories), STORY_SAVE_CHUNK):
        async with services.sessions.begin() as session:
            await services.stories.save(session, stories[chunk : chunk + STORY_SAVE_CHUNK])
    return {start + n: row.story_id for n, row in enumerate(assigned) if row.story_id is not None}


def _with_story(row: ItemRow, story_id: str | None) -> ItemRow:
    return row if story_id is None else replace(row, story_id=story_id)


async def build_database(
    database_url: str, port: int, headlines: Sequence[Headline], items: int, timings: dict[str, float]
) -> dict[str, int]:
    services = await open_services(poll_settings(database_url, concurrency=CONCURRENCY))
    try:
        urls = [feed_url(port, i) for i in range(FEEDS)]
        with step(timings, f"{FEEDS:,} feeds"):
            await add_feeds(services, urls)
            feed_ids = await feed_ids_in_order(services, urls)
        with step(timings, f"{FOLLOWS:,} follows"):
            follows = await add_follows(
                services,
                follow_texts(headlines, FOLLOWS, seed=FOLLOW_SEED),
                guild_id=GUILD_ID,
                channel_ids=[GUILD_ID * 1_000 + c for c in range(CHANNELS)],
                first_user_id=FIRST_USER_ID,
            )
        # One clock for both passes, so an item's date is the same in each.
        now = datetime.now(UTC)
        with step(timings, "story grouping of the last 48 h"):
            story_ids = await group_recent(services, headlines, items, now)
        with step(timings, f"{items:,} items"):
            await store_items(services, feed_ids, headlines, items, story_ids, now)
        with step(timings, "feeds marked polled (ETag of version 1)"):
            await mark_polled(services, feed_ids)
        return {
            "follows": follows,
            "distinct_queries": len(services.matcher),
            "grouped_items": len(story_ids),
            "stories": len(set(story_ids.values())),
        }
    finally:
        await services.close()


async def store_items(
    services: Services,
    feed_ids: Sequence[int],
    headlines: Sequence[Headline],
    items: int,
    story_ids: dict[int, str],
    anchor: datetime,
) -> None:
    """Item ``i`` belongs to feed ``i % FEEDS``; one record_items call per feed, dated
    from ``anchor`` (first_seen_at is the set-up time: record_items takes one ``now``)."""
    now = datetime.now(UTC)
    for first in range(0, len(feed_ids), FEEDS_PER_TRANSACTION):
        async with services.sessions.begin() as session:
            for feed in range(first, min(first + FEEDS_PER_TRANSACTION, len(feed_ids))):
                rows = [
                    _with_story(make_row(headlines, i, items, anchor), story_ids.get(i))
                    for i in range(feed, items, len(feed_ids))
                ]
                await item_repo.record_items(session, feed_ids[feed], rows, now=now)


def database_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)


# --- the section ----------------------------------------------------------------------


async def run_async(items: int, workdir: Path) -> dict[str, Any]:
    headlines = load_headlines()
    server = FeedServerProcess(FEEDS)
    server.start()
    try:
        path = workdir / "mem.db"
        database_url = f"sqlite+aiosqlite:///{path}"
        timings: dict[str, float] = {}
        facts = await build_database(database_url, server.port, headlines, items, timings)
        await server.set_mode(version=1, validators=True)
        started = time.perf_counter()
        stages = await measure(database_url, server)
        measured_seconds = round(time.perf_counter() - started, 1)
        return {
            "feeds": FEEDS,
            "items": items,
            "days": DAYS,
            "channels": CHANNELS,
            **facts,
            "database_mb": database_mb(path),
            "setup_seconds": timings,
            "measure_seconds": measured_seconds,
            "stages": stages,
            "target": target(stages[-1]),
        }
    finally:
        await server.close_control()
        server.stop()


def target(peak: dict[str, Any]) -> dict[str, Any]:
    children = round(sum(c["hwm_mb"] for c in peak["children"]), 1)
    total = round(peak["hwm_mb"] + children, 1)
    return {
        "limit_mb": TARGET_MB,
        "worker_mb": peak["hwm_mb"],
        "children_mb": children,
        "total_mb": total,
        "met": total < TARGET_MB,
    }


def run(quick: bool, *, items: int | None = None) -> dict[str, Any]:
    count = items or (QUICK_ITEMS if quick else FULL_ITEMS)
    with tempfile.TemporaryDirectory(prefix="sw-bench-mem-") as tmp:
        return asyncio.run(run_async(count, Path(tmp)))


def _stage_row(stage: dict[str, Any], *, peak: bool) -> list[object]:
    key = "hwm_mb" if peak else "rss_mb"
    children = stage["children"]
    pool = sum(c[key] for c in children)
    notes = [f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in stage["detail"].items()]
    if stage["seconds"] is not None:
        notes.append(f"{stage['seconds']:.1f} s")
    check = "-" if stage["ok"] is None else ("ok" if stage["ok"] else "NOT OK")
    return [
        stage["stage"],
        f"{stage[key]:,.0f}",
        f"{pool:,.0f} ({len(children)})",
        f"{stage[key] + pool:,.0f}",
        check,
        "; ".join(notes).replace("|", "/"),
    ]


def markdown(result: dict[str, Any]) -> str:
    stages = result["stages"]
    rows = [_stage_row(s, peak=False) for s in stages[:-1]] + [_stage_row(stages[-1], peak=True)]
    table = markdown_table(
        ["stage", "worker RSS MB", "child processes RSS MB (count)", "total MB", "check", "notes"], rows
    )
    setup = ", ".join(f"{k}: {v} s" for k, v in result["setup_seconds"].items())
    head = (
        f"One poll worker (spawned process, SQLite) holding {result['feeds']:,} feeds, "
        f"{result['follows']:,} follows ({result['distinct_queries']:,} distinct queries, "
        f"{result['channels']} channels), {result['items']:,} items over {result['days']} days "
        f"({result['grouped_items']:,} of them in the last 48 h, grouped into {result['stories']:,} stories); "
        f"database {result['database_mb']:,} MB. RSS = VmRSS; the peak row is VmHWM per process. "
        f"Set-up (untimed): {setup}. Measurement: {result['measure_seconds']} s."
    )
    t = result["target"]
    verdict = (
        f"target: under {t['limit_mb']:,.0f} MB: {'met' if t['met'] else 'NOT met'} "
        f"(peak {t['total_mb']:,.0f} MB = worker {t['worker_mb']:,.0f} + child processes {t['children_mb']:,.0f})"
    )
    return f"{head}\n\n{table}\n\n{verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITEMS:,} items instead of {FULL_ITEMS:,}")
    parser.add_argument("--items", type=int, default=None, help="stored items (30 days' worth)")
    args = parser.parse_args()
    print(markdown(run(args.quick, items=args.items)))


if __name__ == "__main__":
    main()
