from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.records import ItemRow
from db.engine import SessionFactory
from db.repo import deliveries as repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def make_item(sessions: SessionFactory) -> int:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url="http://f.test/", name="F", kind="config", trusted=True, interval=60, now=NOW
        )
        row = ItemRow(
            keys=("g:1",),
            article_key="https://a.test/1",
            title="t",
            link="https://a.test/1",
            summary="",
            author=None,
            categories=(),
            image=None,
            source_name=None,
            published_at=NOW,
        )
        [(item_id, _)] = await item_repo.record_items(s, feed.id, [row], now=NOW)
        return item_id


def new(item_id: int, channel: int, identity: str = "https://a.test/1") -> repo.NewDelivery:
    return repo.NewDelivery(
        item_id=item_id,
        guild_id=1,
        channel_id=channel,
        article_identity=identity,
        user_ids=(5, 4),
        queries=("kim",),
    )


async def test_one_article_once_per_channel(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10), new(item_id, 11)], now=NOW) == [item_id, item_id]
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10)], now=NOW) == []
    async with sessions() as s:
        assert await repo.pending_count(s) == 2


async def test_enqueue_in_chunks_skips_duplicates_across_chunk_boundaries(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo, "ENQUEUE_CHUNK", 3)
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10), new(item_id, 12)], now=NOW) == [item_id, item_id]
    # Channels 10..17 sorted into chunks [10, 11, 12] [13, 14, 15] [16, 17]; 10 and 12 are queued already.
    async with sessions.begin() as s:
        queued = await repo.enqueue(s, [new(item_id, channel) for channel in range(17, 9, -1)], now=NOW)
    assert queued == [item_id] * 6
    async with sessions() as s:
        assert await repo.pending_count(s) == 8


async def test_claims_are_exclusive_until_the_lease_ends(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
    async with sessions.begin() as s:
        a = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=30), limit=10)
    async with sessions.begin() as s:
        b = await repo.claim_due(s, now=NOW + timedelta(seconds=10), worker="b", lease=timedelta(seconds=30), limit=10)
    async with sessions.begin() as s:
        c = await repo.claim_due(s, now=NOW + timedelta(seconds=31), worker="c", lease=timedelta(seconds=30), limit=10)
    assert (len(a), len(b), len(c)) == (1, 0, 1)
    assert c[0].attempts == 2
    assert c[0].user_ids == "4 5"


async def test_paused_channels_are_skipped_and_resume(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
        assert await repo.pause_channel(s, channel_id=10, guild_id=1, reason="403", now=NOW) is True
        assert await repo.pause_channel(s, channel_id=10, guild_id=1, reason="403", now=NOW) is False
    async with sessions.begin() as s:
        assert await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10) == []
        assert await repo.resume_channel(s, 10) is True
    async with sessions.begin() as s:
        assert len(await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10)) == 1


async def test_sent_rows_are_marked_for_latest(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
        [row] = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10)
        await repo.mark_sent(s, row.id, message_id=777, now=NOW)
    async with sessions() as s:
        assert await repo.alerted_items(s, 10, [item_id]) == {item_id}
        assert await repo.alerted_items(s, 11, [item_id]) == set()
        assert await repo.pending_count(s) == 0


async def test_claims_are_fair_across_channels(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    backlog = [new(item_id, 10, identity=f"https://a.test/{n}") for n in range(20)]
    async with sessions.begin() as s:
        await repo.enqueue(
            s, [*backlog, new(item_id, 11, "https://b.test/1"), new(item_id, 11, "https://b.test/2")], now=NOW
        )
    async with sessions.begin() as s:
        claimed = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=30), limit=10)
    per_channel = {c: sum(1 for r in claimed if r.channel_id == c) for c in (10, 11)}
    assert per_channel == {10: 5, 11: 2}  # a backlog in one channel does not starve the other
