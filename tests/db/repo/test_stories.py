"""Channel stories: which first-alert footers are behind, who updates each, and the
headlines a story thread is named and labelled after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.engine import SessionFactory
from db.models import Delivery
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo
from tests.support.item_rows import item_row

NOW = datetime(2014, 5, 24, 12, 0, tzinfo=UTC)


async def open_story(sessions: SessionFactory, channel_id: int, story_id: str, *, at: datetime) -> int:
    async with sessions.begin() as session:
        story = await story_repo.open_channel_story(
            session, channel_id=channel_id, guild_id=1, story_id=story_id, root_message_id=channel_id * 10,
            root_delivery_id=1, outlet="Us Weekly", user_ids=[7], now=at,
        )  # fmt: skip
        return story.id


async def add_article(sessions: SessionFactory, channel_id: int, story_id: str, *, at: datetime) -> None:
    async with sessions.begin() as session:
        story = await story_repo.channel_story(session, channel_id, story_id)
        assert story is not None
        story.article_count += 1
        story.last_article_at = at


async def test_a_footer_is_stale_once_its_thread_grows_and_is_claimed_once(sessions: SessionFactory) -> None:
    await open_story(sessions, 100, "wedding", at=NOW)
    await open_story(sessions, 200, "wedding", at=NOW)
    async with sessions() as session:
        assert await story_repo.stale_footers(session, limit=10) == []  # a new story's footer is current

    await add_article(sessions, 200, "wedding", at=NOW + timedelta(minutes=1))
    await add_article(sessions, 100, "wedding", at=NOW + timedelta(minutes=2))
    await add_article(sessions, 100, "wedding", at=NOW + timedelta(minutes=3))
    async with sessions() as session:
        stale = await story_repo.stale_footers(session, limit=10)
    assert [(s.channel_id, s.footer_count, s.article_count) for s in stale] == [(200, 1, 2), (100, 1, 3)]

    # Two workers found the same stale footer: one takes it.
    async with sessions.begin() as session:
        assert await story_repo.claim_footer(session, stale[1]) is True
    async with sessions.begin() as session:
        assert await story_repo.claim_footer(session, stale[1]) is False
    async with sessions() as session:
        assert [s.channel_id for s in await story_repo.stale_footers(session, limit=10)] == [200]
        current = await story_repo.channel_story(session, 100, "wedding")
    assert current is not None and current.footer_count == 3

    await add_article(sessions, 100, "wedding", at=NOW + timedelta(minutes=4))  # behind again
    async with sessions() as session:
        assert [s.channel_id for s in await story_repo.stale_footers(session, limit=1)] == [200]
        assert [s.channel_id for s in await story_repo.stale_footers(session, limit=10)] == [200, 100]


async def test_root_headlines_are_a_messages_stories_in_order_even_once_pruned(sessions: SessionFactory) -> None:
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session, url="https://news.example.com/rss", name="News", kind="config", trusted=True,
            interval=300.0, now=NOW,
        )  # fmt: skip
        [(item_id, _row)] = await item_repo.record_items(
            session, feed.id, [item_row("g:wed", "Kim and Kanye marry", published=NOW)], now=NOW
        )
        await delivery_repo.enqueue(
            session,
            [delivery_repo.NewDelivery(item_id, 1, 100, f"item:{item_id}", (7,), ("kim kanye",))],
            now=NOW,
        )
        delivery_id = await session.scalar(select(Delivery.id).where(Delivery.item_id == item_id))
        assert delivery_id is not None

    async def open_in(message_id: int, story_id: str, root_delivery_id: int) -> None:
        async with sessions.begin() as session:
            await story_repo.open_channel_story(
                session, channel_id=100, guild_id=1, story_id=story_id, root_message_id=message_id,
                root_delivery_id=root_delivery_id, outlet="Us Weekly", user_ids=[7], now=NOW,
            )  # fmt: skip

    await open_in(5000, "wedding", delivery_id)
    await open_in(5000, "perfume", delivery_id + 1_000)  # its first article is no longer stored
    await open_in(6000, "tour", delivery_id)  # another message
    async with sessions() as session:
        headlines = await story_repo.root_headlines(session, 100, 5000)
    assert list(headlines.items()) == [("wedding", "Kim and Kanye marry"), ("perfume", "")]
