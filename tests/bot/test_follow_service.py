"""The follow front door's core with a real database and the real follow matcher: /follow
(and its preview and suggestions), /unfollow, /latest and an alert's follow choices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.follow_matcher import FollowMatcher
from bot.follow_service import (
    FOLLOW_PREVIEW,
    AlertChoice,
    alert_choices,
    follow,
    latest,
    suggest_follows,
    unfollow,
)
from bot.follow_suggestions import SuggestionCache
from bot.ingest import search_text_of
from bot.prepare import row_fingerprint
from bot.settings import parse_settings
from bot.story_book import StoryBook
from db.engine import SessionFactory
from db.models import Delivery
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo
from tests.support.item_rows import item_row

SETTINGS = parse_settings("[search_feeds]\nenabled = false\n", "test", {})
HEADLINE = "Kim Kardashian and Kanye West marry in Florence"


async def test_unfollow_keeps_matching_a_query_someone_else_still_follows(sessions: SessionFactory) -> None:
    matcher = FollowMatcher()
    for guild, channel, member in ((1, 10, 100), (2, 20, 200)):
        await follow(sessions, matcher, SETTINGS, guild_id=guild, channel_id=channel, user_id=member, text="Kim Kanye")

    query, first_removed = await unfollow(
        sessions, matcher, SETTINGS, guild_id=1, channel_id=10, user_id=100, text="kim kanye"
    )
    after_first = matcher.match(HEADLINE, "")
    _query, last_removed = await unfollow(
        sessions, matcher, SETTINGS, guild_id=2, channel_id=20, user_id=200, text="kim kanye"
    )

    assert (first_removed, last_removed) == (True, True)
    assert after_first == {query}  # the other server's member still follows it
    assert matcher.match(HEADLINE, "") == set()
    assert query not in matcher


async def _store(sessions: SessionFactory, url: str, titles: dict[str, int], *, kind: str, guild_id: int = 0) -> int:
    """A feed holding ``titles`` (title -> hours old); a "server" feed belongs to ``guild_id``.
    Returns the feed's id."""
    now = datetime.now(UTC)
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(s, url=url, name=url, kind=kind, trusted=True, interval=60, now=now)
        if kind == "server":
            await feed_repo.link_guild_feed(s, guild_id=guild_id, feed_id=feed.id, name="Own", user_id=1, now=now)
        rows = [
            item_row(
                f"{url}#{n}",
                title,
                link=f"https://news.test/{url[-1]}{n}",
                published=now - timedelta(hours=hours),
                search_text=search_text_of(title, "", ()),
            )
            for n, (title, hours) in enumerate(titles.items())
        ]
        await item_repo.record_items(s, feed.id, rows, now=now)
        return feed.id


async def test_a_new_follow_shows_the_newest_articles_it_would_have_caught(sessions: SessionFactory) -> None:
    matching = {f"Kim and Kanye, day {n}": n for n in range(1, 6)}  # day 1 is the newest
    await _store(sessions, "http://config.test/a", {**matching, "Kanye's new album leaks": 0}, kind="config")
    # Another server's own feed: this server does not see it, however new and on topic.
    await _store(sessions, "http://other.test/b", {"Kim and Kanye wed at last": 0}, kind="server", guild_id=2)

    result = await follow(sessions, FollowMatcher(), SETTINGS, guild_id=1, channel_id=10, user_id=100, text="kim kanye")
    nothing = await follow(
        sessions, FollowMatcher(), SETTINGS, guild_id=1, channel_id=10, user_id=100, text="apollo moon"
    )

    assert [line.title for line in result.recent] == [f"Kim and Kanye, day {n}" for n in range(1, FOLLOW_PREVIEW + 1)]
    assert [line.source for line in result.recent] == ["http://config.test/a"] * FOLLOW_PREVIEW
    assert nothing.created and nothing.recent == ()


async def test_an_alerts_choices_are_its_follows_and_whether_the_member_follows_each(sessions: SessionFactory) -> None:
    feed_id = await _store(
        sessions, "http://config.test/a", {"Kim and Kanye wed": 1, "Beyonce tours": 2}, kind="config"
    )
    matcher = FollowMatcher()
    await follow(sessions, matcher, SETTINGS, guild_id=1, channel_id=10, user_id=100, text="kanye")
    now = datetime.now(UTC)
    async with sessions.begin() as s:
        item_ids = [item.id for item in await item_repo.recent_items(s, [feed_id], limit=10)]
        # One message carrying two alerts (a bundle), each with its own follows.
        queued = [
            delivery_repo.NewDelivery(item_id, 1, 10, f"a{item_id}", (100,), queries)
            for item_id, queries in zip(item_ids, (("kanye", "kim kanye"), ("beyonce",)), strict=True)
        ]
        await delivery_repo.enqueue(s, queued, now=now)
        for delivery in await s.scalars(select(Delivery)):
            await delivery_repo.mark_sent(s, delivery.id, message_id=555, now=now, sent_as="alert")

    async def choices(user_id: int, channel_id: int = 10, message_id: int = 555) -> list[AlertChoice]:
        return await alert_choices(sessions, guild_id=1, channel_id=channel_id, user_id=user_id, message_id=message_id)

    assert await choices(100) == [
        AlertChoice("beyonce", following=False),
        AlertChoice("kanye", following=True),
        AlertChoice("kim kanye", following=False),
    ]
    assert [c.following for c in await choices(200)] == [False, False, False]
    assert await choices(100, message_id=556) == []  # not an alert
    assert await choices(100, channel_id=11) == []  # the id of a message in another channel


async def test_latest_shows_a_story_once_with_its_other_coverage_and_its_thread_here(sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    stories = {  # title: (story, hours old); "wed" has three articles, one not matching
        "Kim and Kanye wed in Florence": ("wed", 1),
        "Kanye and Kim: the wedding photos": ("wed", 2),
        "Florence wedding draws crowds": ("wed", 3),
        "Kim and Kanye's honeymoon in Ireland": ("honeymoon", 4),
        "Kim and Kanye album rumours": (None, 5),
    }
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url="http://config.test/a", name="Celeb", kind="config", trusted=True, interval=60, now=now
        )
        rows = [
            replace(
                item_row(
                    f"g{n}", title, published=now - timedelta(hours=hours), search_text=search_text_of(title, "", ())
                ),
                story_id=story,
            )
            for n, (title, (story, hours)) in enumerate(stories.items())
        ]
        await item_repo.record_items(s, feed.id, rows, now=now)
        honeymoon = await story_repo.open_channel_story(
            s,
            channel_id=10,
            guild_id=1,
            story_id="honeymoon",
            root_message_id=7,
            root_delivery_id=1,
            outlet="Celeb",
            user_ids=[100],
            now=now,
        )
        await story_repo.set_root_thread(s, 10, honeymoon.root_message_id, 777)

    async def page(channel_id: int) -> list[tuple[str, int, int | None]]:
        found = await latest(sessions, SETTINGS, guild_id=1, channel_id=channel_id, user_id=100, text="kim kanye")
        return [(line.title, line.more, line.thread_id) for line in found.lines]

    assert await page(10) == [
        ("Kim and Kanye wed in Florence", 2, None),  # the newest stands for its story
        ("Kim and Kanye's honeymoon in Ireland", 0, 777),
        ("Kim and Kanye album rumours", 0, None),  # no story: a line of its own
    ]
    assert [thread for _title, _more, thread in await page(11)] == [None, None, None]  # another channel


async def test_suggestions_name_the_stories_a_server_sees_and_never_another_servers_own(
    sessions: SessionFactory,
) -> None:
    book = StoryBook(timedelta(hours=48))
    now = datetime.now(UTC)
    feeds = {
        "http://config.test/a": (
            "config",
            0,
            ["Kim Kardashian and Kanye West marry", "Kanye West weds Kim Kardashian"],
        ),
        # Another server's own feed (a search feed would be the same): what it follows.
        "http://own.test/b": ("server", 2, ["Zephyrine Quarrington unveils secret project"]),
    }
    for url, (kind, guild_id, titles) in feeds.items():
        rows = [
            item_row(f"{url}#{n}", title, published=now - timedelta(hours=1), search_text=search_text_of(title, "", ()))
            for n, title in enumerate(titles)
        ]
        grouped, _stories = book.assign(rows, [row_fingerprint(row, now) for row in rows])
        async with sessions.begin() as s:
            feed = await feed_repo.get_or_create_feed(
                s, url=url, name=url, kind=kind, trusted=True, interval=60, now=now
            )
            if kind == "server":
                await feed_repo.link_guild_feed(s, guild_id=guild_id, feed_id=feed.id, name="Own", user_id=1, now=now)
            await item_repo.record_items(s, feed.id, grouped, now=now)

    async def names(guild_id: int, typed: str = "") -> list[str]:
        found = await suggest_follows(sessions, book, SuggestionCache(), guild_id=guild_id, typed=typed)
        return [suggestion.query for suggestion in found]

    assert "kim kardashian" in await names(1) and not any("zephyrine" in name for name in await names(1))
    assert await names(1, "zeph") == []
    assert any("zephyrine" in name for name in await names(2, "zeph"))  # its own feed
    assert [
        s.articles for s in await suggest_follows(sessions, book, SuggestionCache(), guild_id=1, typed="kim k")
    ] == [2]
