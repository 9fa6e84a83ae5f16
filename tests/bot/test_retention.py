"""Pruning on both backends when several workers run the job: one prunes a period."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.retention import PRUNE_EVERY, prune_stored
from db.engine import SessionFactory
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from tests.support.item_rows import item_row

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)


async def store(sessions: SessionFactory, keys: list[str], *, seen: datetime) -> None:
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session, url="https://news.example.com/rss", name="News", kind="config", trusted=True,
            interval=300.0, now=seen,
        )  # fmt: skip
        rows = [item_row(key, key, published=seen) for key in keys]
        await item_repo.record_items(session, feed.id, rows, now=seen)


async def test_one_worker_prunes_a_period_and_the_next_period_is_pruned_again(sessions: SessionFactory) -> None:
    await store(sessions, ["g:1", "g:2"], seen=NOW - timedelta(days=40))

    assert await prune_stored(sessions, "w1", now=NOW, retention=RETENTION) == (2, 0)
    await store(sessions, ["g:3"], seen=NOW - timedelta(days=40))  # e.g. a feed re-sent an old item
    assert await prune_stored(sessions, "w2", now=NOW + timedelta(minutes=1), retention=RETENTION) is None

    next_period = NOW + PRUNE_EVERY
    assert await prune_stored(sessions, "w2", now=next_period, retention=RETENTION) == (1, 0)
    assert await prune_stored(sessions, "w1", now=next_period + timedelta(seconds=5), retention=RETENTION) is None


async def test_workers_pruning_at_once_prune_once(sessions: SessionFactory) -> None:
    await store(sessions, ["g:1", "g:2", "g:3"], seen=NOW - timedelta(days=40))
    results = await asyncio.gather(*(prune_stored(sessions, f"w{n}", now=NOW, retention=RETENTION) for n in range(3)))
    assert sorted(results, key=lambda r: r is None) == [(3, 0), None, None]
