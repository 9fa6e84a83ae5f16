"""Three worker processes on one PostgreSQL database: PostgreSQL row locks coordinate them.

Every feed is polled once per interval by exactly one worker, every alert is sent once, a
story's coverage polled by different workers stays one story, and when a worker is killed
mid-cycle the others take its feeds over after the lease.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine
from db.models import Item
from tests.conftest import _create_pg_database, _drop_pg_database, postgres_admin_url
from tests.e2e.conftest import alerts_in
from tests.emulator import DiscordEmulator
from tests.support.bot_process import BotConfig, BotProcess
from tests.support.feed_server import FeedItem, FeedServer

FEEDS = 500
INTERVAL = 10.0
LEASE = 8.0
SENT_LOG = re.compile(r"alert sent \[alerts=(\d+) ")
WORKERS = 3
WEDDING = "Kim Kardashian and Kanye West set their wedding date in Paris"
TOUR = "Beyonce and Jay-Z announce the dates of their joint stadium tour"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("scale-out tests need STORYWATCH_TEST_POSTGRES_URL (a PostgreSQL server)")
    url, name = await _create_pg_database(admin)
    try:
        yield url
    finally:
        await _drop_pg_database(admin, name)


async def stored_story_ids(
    pg_url: str, *, expected: int, title: str = WEDDING, timeout: float = 60
) -> list[str | None]:
    """The story ids of the stored articles whose titles start with ``title``, once
    ``expected`` are stored (or at ``timeout``)."""
    engine = make_engine(pg_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            async with engine.connect() as conn:
                ids = list(await conn.scalars(select(Item.story_id).where(Item.title.startswith(title))))
            if len(ids) >= expected or time.monotonic() > deadline:
                return ids
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_three_workers_share_feeds_and_deliveries_exactly_once(
    emulator: DiscordEmulator, feeds: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    emulator.rate_limits = False  # delivery counting, not Discord's limits, is under test
    guild = emulator.standard_guild()
    names = [f"feed{n}.xml" for n in range(FEEDS)]
    urls = [
        (
            name,
            feeds.set_feed(name, [FeedItem(f"Old {name}", f"https://old.test/{name}", f"old-{name}")]),
        )
        for name in names
    ]
    config = BotConfig(
        emulator.api_base,
        emulator.gateway_url,
        pg_url,
        feeds=urls,
        interval=INTERVAL,
        polling_extra=f"max_interval_seconds = {INTERVAL}\nclaim_lease_seconds = {LEASE}\nconcurrency = 100\n",
        log_level="INFO",
        extra=f'[alerts]\nstory_mode = "separate"\nmax_per_window = 1000\nclaim_lease_seconds = {LEASE}\n',
    )
    workers = [
        BotProcess(
            config,
            tmp_path,
            args=("--shards", str(i), "--shard-count", str(WORKERS)),
            name=f"worker{i}",
        )
        for i in range(WORKERS)
    ]
    try:
        for worker in workers:
            await worker.start()
        await emulator.wait_ready(timeout=60, count=WORKERS)
        # Baseline: every feed fetched at least twice (the first poll has finished).
        await emulator.wait_for(lambda: all(feeds.hits(n) >= 2 for n in names), timeout=90)

        follow = await emulator.slash_command(
            guild.guild_id,
            guild.news_channel_id,
            guild.member_ids[0],
            "follow",
            {"query": "scaleout"},
        )
        await follow.wait_response(timeout=15)
        await asyncio.sleep(3)  # the other workers pick the new follow up through the version counter
        now = datetime.now(UTC)
        changed = names[:60]
        for n, name in enumerate(changed):
            feeds.set_feed(
                name,
                [
                    FeedItem(
                        f"Scaleout story {n} from {name}",
                        f"https://new.test/{n}",
                        f"new-{n}",
                        published=now,
                    )
                ],
            )

        # Steady state: measure polls over three intervals.
        start = time.monotonic()
        await emulator.wait_for(lambda: alerts_in(emulator, guild.news_channel_id) >= len(changed), timeout=90)
        # Meanwhile, a story's later coverage, in feeds whichever worker claims, joins the
        # story the first worker opened: each takes in the others' stories within seconds.
        story_feeds = names[len(changed) :: 70][:6]  # apart: a claim takes feeds due together
        feeds.set_feed(story_feeds[0], [FeedItem(WEDDING, "https://story.test/0", "story-0", published=now)])
        assert len(await stored_story_ids(pg_url, expected=1)) == 1
        await asyncio.sleep(3)  # the 2-second story sync
        for k, name in enumerate(story_feeds[1:], start=1):
            title = f"{WEDDING}, report {k} says"
            feeds.set_feed(name, [FeedItem(title, f"https://story.test/{k}", f"story-{k}", published=now)])
        grouped = await stored_story_ids(pg_url, expected=len(story_feeds))
        assert len(grouped) == len(story_feeds) and len(set(grouped)) == 1, grouped
        # A story breaking in six feeds at once: workers that open it in the same seconds,
        # before any sync, still end with one story (the later writers fold theirs in).
        tour_feeds = names[len(changed) + 35 :: 70][:6]
        for k, name in enumerate(tour_feeds):
            title = TOUR if k == 0 else f"{TOUR}, report {k} says"
            feeds.set_feed(name, [FeedItem(title, f"https://tour.test/{k}", f"tour-{k}", published=now)])
        together = await stored_story_ids(pg_url, expected=len(tour_feeds), title=TOUR)
        assert len(together) == len(tour_feeds) and len(set(together)) == 1, together
        await emulator.wait_for(lambda: time.monotonic() - start > 4 * INTERVAL, timeout=90)
        window_end = time.monotonic()
        # Every feed, every interval, by one worker: gaps between two polls of a feed stay
        # between half an interval (no double poll) and two intervals (none skipped; the
        # slack is the scheduler tick plus a loaded 2-core machine).
        window = [(n, [t for t in feeds.routes[n].hit_times if start <= t <= window_end]) for n in names]
        spans = sorted(g for _, times in window for g in gaps(times))
        assert all(len(times) >= 2 for _, times in window), [(n, len(t)) for n, t in window if len(t) < 2][:5]
        assert spans[0] > 0.5 * INTERVAL, f"a feed was polled twice within {spans[0]:.1f}s"
        assert spans[-1] < 2 * INTERVAL, (
            f"a feed waited {spans[-1]:.1f}s between polls (p50 {spans[len(spans) // 2]:.1f}s)"
        )
        messages = emulator.messages(guild.news_channel_id)
        titles = [e["title"] for m in messages for e in m.get("embeds") or []]
        assert sorted(titles) == sorted(f"Scaleout story {n} from {name}" for n, name in enumerate(changed))
        # Each message logs "alert sent" with the number of alerts it carried.
        shares = [sum(map(int, SENT_LOG.findall(w.output()))) for w in workers]
        assert sum(shares) == len(changed)
        # The slash command reached only the process holding the guild's shard.
        assert not any("command failed" in w.output() for w in workers)

        # Kill one worker mid-cycle: its feeds are taken over after the lease.
        await workers[0].kill()
        killed_at = time.monotonic()
        await emulator.wait_for(lambda: time.monotonic() - killed_at > LEASE + 3 * INTERVAL, timeout=120)
        recent = time.monotonic() - 2 * INTERVAL
        missing = [n for n in names if not any(t >= recent for t in feeds.routes[n].hit_times)]
        assert missing == [], f"{len(missing)} feeds no longer polled after a worker died"
    finally:
        for worker in workers:
            if worker.proc is not None and worker.proc.returncode is None:
                await worker.stop()
