"""Story footers against the in-process Discord emulator, over discord.py and
DiscordTransport, on both database backends: a story's first alert catches up with its
thread once, after the queued alerts, and never ahead of an alert."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.delivery.context import SendContext
from bot.delivery.footers import footer_text, refresh_story_footers
from bot.delivery.sender import deliver_due
from bot.discord_transport import DiscordTransport
from bot.settings import AlertSettings
from db.engine import SessionFactory
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo
from tests.emulator import DiscordEmulator
from tests.emulator.models import StandardGuild
from tests.emulator.recording import thread_names
from tests.support.discord_client import logged_in_client
from tests.support.item_rows import item_row

WEDDING = "story-wedding"
# The first alert, then later coverage: two new outlets and one outlet again.
COVERAGE = [
    ("Us Weekly", "Kim Kardashian and Kanye West marry in Florence"),
    ("Page Six", "Kim and Kanye wed at Florence fortress"),
    ("E! News", "Inside Kim and Kanye's Florence wedding"),
    ("Page Six", "Kim and Kanye's wedding guest list"),
]


@pytest.fixture
async def client(emulator: DiscordEmulator) -> AsyncIterator[discord.Client]:
    async with logged_in_client(emulator.api_base, emulator.token) as bot:
        yield bot


async def queue_story(
    sessions: SessionFactory, guild: StandardGuild, coverage: list[tuple[str, str]], story_id: str = WEDDING
) -> None:
    """One article per (outlet, title), all of one story, each queued for #news."""
    now = datetime.now(UTC)
    rows = [
        dataclasses.replace(
            item_row(f"g:{title}", title, published=now - timedelta(minutes=10 - n), link=f"https://e.test/{title}"),
            source_name=outlet,
            story_id=story_id,
        )
        for n, (outlet, title) in enumerate(coverage)
    ]
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session, url="https://news.example.com/rss", name="News", kind="config", trusted=True,
            interval=300.0, now=now,
        )  # fmt: skip
        stored = await item_repo.record_items(session, feed.id, rows, now=now)
        await delivery_repo.enqueue(
            session,
            [
                delivery_repo.NewDelivery(
                    item_id=item_id,
                    guild_id=guild.guild_id,
                    channel_id=guild.news_channel_id,
                    article_identity=f"item:{item_id}",
                    user_ids=guild.member_ids[:1],
                    queries=("kim kanye",),
                )
                for item_id, _row in stored
            ],
            now=now,
        )


def send_context(sessions: SessionFactory, client: discord.Client) -> SendContext:
    return SendContext(
        sessions=sessions,
        transport=DiscordTransport(client),
        worker_id="footer-test",
        alerts=AlertSettings(max_per_window=10**6, story_mode="thread"),
    )


def footer_of(emulator: DiscordEmulator, message_id: int, embed: int = 0) -> str:
    message = emulator.message(message_id)
    assert message is not None
    return str(message["embeds"][embed]["footer"]["text"])


async def test_the_first_alert_catches_up_with_its_thread_once_after_the_queue(
    sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    guild = emulator.standard_guild()
    await queue_story(sessions, guild, COVERAGE)
    start = emulator.mark()
    assert await deliver_due(send_context(sessions, client)) == len(COVERAGE)

    [root] = emulator.messages(guild.news_channel_id)
    thread_id = int(root["id"])  # a thread started from a message has the message's id
    assert [m["embeds"][0]["title"] for m in emulator.messages(thread_id)] == [t for _o, t in COVERAGE[1:]]
    requests = emulator.requests[start:]
    # The thread is named after the story (its first headline); one story: posts need no label.
    assert thread_names(requests) == [COVERAGE[0][1]]
    assert all(not m["content"] for m in emulator.messages(thread_id))
    edits = [n for n, r in enumerate(requests) if r.method == "PATCH" and r.path.endswith(f"/messages/{root['id']}")]
    posts = [n for n, r in enumerate(requests) if r.method == "POST" and r.path.endswith("/messages")]
    assert len(edits) == 1, "three thread posts, one footer update"
    assert edits[0] > max(posts), "the footer waited for every queued post"
    footer = footer_of(emulator, int(root["id"]))
    assert footer.endswith("+2 outlets: Page Six, E! News"), footer
    async with sessions() as session:
        assert await story_repo.stale_footers(session, limit=10) == []


async def test_footers_wait_while_alerts_are_queued(
    sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    guild = emulator.standard_guild()
    await queue_story(sessions, guild, COVERAGE[:2])
    ctx = send_context(sessions, client)
    await deliver_due(ctx)
    [root] = emulator.messages(guild.news_channel_id)
    assert footer_of(emulator, int(root["id"])).endswith("+1 outlet: Page Six")

    async with sessions.begin() as session:  # later coverage went into the thread
        story = await story_repo.channel_story(session, guild.news_channel_id, WEDDING)
        assert story is not None
        story.outlets += "\nE! News"
        story.article_count += 1
    ctx.queued.set()  # a poll has queued alerts: they go first
    assert await refresh_story_footers(ctx) == 0
    assert footer_of(emulator, int(root["id"])).endswith("+1 outlet: Page Six")
    async with sessions() as session:
        assert len(await story_repo.stale_footers(session, limit=10)) == 1

    ctx.queued.clear()  # the drain took them
    assert await refresh_story_footers(ctx) == 1
    assert footer_of(emulator, int(root["id"])).endswith("+2 outlets: Page Six, E! News")


async def test_stories_first_alerted_in_one_message_share_its_thread_and_its_edit(
    sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    guild = emulator.standard_guild()
    await queue_story(sessions, guild, [("Us Weekly", "Kim and Kanye marry in Florence")])
    await queue_story(sessions, guild, [("Vogue", "Kim Kardashian launches a fragrance")], story_id="story-perfume")
    ctx = send_context(sessions, client)
    await deliver_due(ctx)
    [root] = emulator.messages(guild.news_channel_id)  # both first alerts, one message
    assert len(root["embeds"]) == 2

    await queue_story(sessions, guild, [("Page Six", "Inside Kim and Kanye's Florence wedding")])
    await queue_story(sessions, guild, [("Allure", "Kim's fragrance sells out")], story_id="story-perfume")
    start = emulator.mark()
    assert await deliver_due(ctx) == 2
    thread_id = int(root["id"])
    assert [m["embeds"][0]["title"] for m in emulator.messages(thread_id)] == [
        "Inside Kim and Kanye's Florence wedding",
        "Kim's fragrance sells out",
    ]
    # The thread gathers both stories: its name says so, and each post says which it continues.
    assert thread_names(emulator.requests[start:]) == [
        "More on 2 stories: Kim and Kanye marry in Florence · Kim Kardashian launches a fragrance"
    ]
    assert [m["content"] for m in emulator.messages(thread_id)] == [
        "More on: Kim and Kanye marry in Florence",
        "More on: Kim Kardashian launches a fragrance",
    ]
    requests = emulator.requests[start:]
    assert sum(1 for r in requests if r.method == "POST" and r.path.endswith("/threads")) == 1
    edits = [r for r in requests if r.method == "PATCH" and r.path.endswith(f"/messages/{root['id']}")]
    assert len(edits) == 1 and len(edits[0].json["embeds"]) == 2  # one edit redraws both
    assert footer_of(emulator, int(root["id"]), 0).endswith("+1 outlet: Page Six")
    assert footer_of(emulator, int(root["id"]), 1).endswith("+1 outlet: Allure")


def test_footer_names_new_outlets_or_counts_the_threads_articles() -> None:
    assert footer_text(["Us Weekly", "Page Six", "E! News"], 4) == "+2 outlets: Page Six, E! News"
    assert footer_text(["Us Weekly"], 2) == "1 article in the thread"
    assert footer_text(["Us Weekly"], 4) == "3 articles in the thread"
