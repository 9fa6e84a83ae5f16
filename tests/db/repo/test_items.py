from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.records import ItemRow
from db.engine import SessionFactory
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from tests.support.item_rows import item_row

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def row(
    key: str,
    title: str = "Kim and Kanye",
    link: str | None = None,
    published: datetime | None = NOW,
) -> ItemRow:
    return item_row(key, title, link=link, article_key=link, link_key=True, published=published)


async def make_feed(sessions: SessionFactory, url: str = "http://feeds.test/a") -> int:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url=url, name="A", kind="config", trusted=True, interval=60, now=NOW
        )
        return feed.id


async def test_recording_twice_stores_once(sessions: SessionFactory) -> None:
    feed_id = await make_feed(sessions)
    rows = [row("g:1"), row("g:2")]
    async with sessions.begin() as s:
        first = await item_repo.record_items(s, feed_id, await item_repo.unseen(s, feed_id, rows), now=NOW)
    async with sessions.begin() as s:
        again = await item_repo.unseen(s, feed_id, rows)
        second = await item_repo.record_items(s, feed_id, again, now=NOW)
    assert len(first) == 2
    assert again == [] and second == []


async def test_any_known_key_makes_an_item_seen(sessions: SessionFactory) -> None:
    feed_id = await make_feed(sessions)
    async with sessions.begin() as s:
        await item_repo.record_items(s, feed_id, [row("g:old", link="https://x.test/a")], now=NOW)
    churned_guid = row("g:new", link="https://x.test/a")
    async with sessions.begin() as s:
        assert await item_repo.unseen(s, feed_id, [churned_guid]) == []


async def test_duplicate_inside_one_document_is_kept_once(sessions: SessionFactory) -> None:
    feed_id = await make_feed(sessions)
    async with sessions.begin() as s:
        fresh = await item_repo.unseen(s, feed_id, [row("g:1"), row("g:1", title="copy")])
    assert [r.title for r in fresh] == ["Kim and Kanye"]


async def test_keys_outlive_pruned_items(sessions: SessionFactory) -> None:
    feed_id = await make_feed(sessions)
    async with sessions.begin() as s:
        await item_repo.record_items(s, feed_id, [row("g:1")], now=NOW - timedelta(days=40))
    async with sessions.begin() as s:
        items, keys = await item_repo.prune_items(
            s, items_before=NOW - timedelta(days=30), keys_before=NOW - timedelta(days=60)
        )
    assert (items, keys) == (1, 0)
    async with sessions.begin() as s:
        assert await item_repo.unseen(s, feed_id, [row("g:1")]) == []


async def test_recent_items_newest_first_with_first_seen_fallback(sessions: SessionFactory) -> None:
    feed_id = await make_feed(sessions)
    rows = [
        row("g:a", "old", published=NOW - timedelta(hours=5)),
        row("g:b", "undated", published=None),
        row("g:c", "mid", published=NOW - timedelta(hours=1)),
    ]
    async with sessions.begin() as s:
        await item_repo.record_items(s, feed_id, rows, now=NOW)
    async with sessions() as s:
        titles = [i.title for i in await item_repo.recent_items(s, [feed_id], limit=10)]
    assert titles == ["undated", "mid", "old"]
