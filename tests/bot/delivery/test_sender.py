"""The sender drain against the Discord emulator (its own process, Discord's rate limits on)
over discord.py and DiscordTransport, on both database backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
from sqlalchemy import select

from bench.common import load_headlines
from bench.emulator import EmulatedGuild, EmulatorProcess
from bench.latest import article_rows
from bot.delivery.context import SendContext
from bot.delivery.policy_reader import PolicyReader
from bot.delivery.render import bundle_nonce, nonce_for
from bot.delivery.sender import deliver_due
from bot.discord_transport import DiscordTransport
from bot.settings import AlertSettings
from cogs.alert_controls import alert_view
from db.engine import SessionFactory
from db.models import Delivery
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import guild_settings as guild_repo
from db.repo import items as item_repo
from tests.support.discord_client import logged_in_client

# Discord lets a channel take 5 messages per 5 s; the 6th waits for the window to pass.
BURST = 7


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(2)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def client(emulator: EmulatorProcess) -> AsyncIterator[discord.Client]:
    async with logged_in_client(emulator.api_base, emulator.token) as bot:
        yield bot


async def queue(
    sessions: SessionFactory,
    guild: EmulatedGuild,
    channel_id: int,
    articles: range,
    users: Callable[[int], list[int]] | None = None,
) -> list[int]:
    """Store ``articles`` (indexes into the headlines) and queue one alert each, for the
    server's first member or ``users(article)``; their ids."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session, url="https://news.example.com/rss", name="News", kind="config", trusted=True,
            interval=300.0, now=now,
        )  # fmt: skip
        rows = article_rows(load_headlines(), articles.stop)[articles.start :]
        stored = await item_repo.record_items(session, feed.id, rows, now=now)
        new = [
            delivery_repo.NewDelivery(
                item_id=item_id,
                guild_id=guild.guild_id,
                channel_id=channel_id,
                article_identity=row.article_key or f"item:{item_id}",
                user_ids=tuple(users(n) if users else guild.member_ids[:1]),
                queries=("news",),
            )
            for n, (item_id, row) in zip(articles, stored, strict=True)
        ]
        await delivery_repo.enqueue(session, new, now=now)
        ids = await session.scalars(
            select(Delivery.id)
            .where(Delivery.item_id.in_([item_id for item_id, _row in stored]), Delivery.channel_id == channel_id)
            .order_by(Delivery.id)
        )
        return list(ids)


def sender(sessions: SessionFactory, client: discord.Client, worker_id: str, *, bundle_max: int) -> SendContext:
    """The sender over DiscordTransport: story mode separate, the flood cap out of the way."""
    return SendContext(
        sessions=sessions,
        transport=DiscordTransport(client, alert_view=alert_view),
        worker_id=worker_id,
        alerts=AlertSettings(max_per_window=10**6, story_mode="separate", bundle_max=bundle_max),
        lease=timedelta(seconds=60),
    )


def button_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row.get("components") or []]


async def history(client: discord.Client, channel_id: int) -> dict[str, int]:
    """nonce -> message id, for every message in the channel."""
    page = await client.http.logs_from(channel_id, 100)
    return {str(message["nonce"]): int(message["id"]) for message in page}


async def wait_for_messages(client: discord.Client, channel_id: int, count: int, seconds: float = 30.0) -> None:
    for _attempt in range(int(seconds / 0.05)):
        if len(await history(client, channel_id)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} messages in channel {channel_id} after {seconds} s")


async def test_a_rate_limited_channel_does_not_hold_back_another_channels_alert(
    sessions: SessionFactory, emulator: EmulatorProcess, client: discord.Client
) -> None:
    guild = emulator.guilds[0]
    busy, other = guild.channel_ids
    burst = await queue(sessions, guild, busy, range(0, BURST))
    ctx = sender(sessions, client, "test-sender", bundle_max=1)
    drain = asyncio.create_task(deliver_due(ctx))
    await wait_for_messages(client, busy, 5)  # the busy channel has used up its window
    [late] = await queue(sessions, guild, other, range(BURST, BURST + 1))
    ctx.queued.set()  # what a poll that queued it does
    assert await asyncio.wait_for(drain, 60) == BURST + 1

    in_busy, in_other = await history(client, busy), await history(client, other)
    assert sorted(in_busy) == sorted(nonce_for(d, 0) for d in burst)
    assert list(in_other) == [nonce_for(late, 0)]
    # Snowflakes order messages in time: the other channel's alert, queued after the busy
    # channel had used up its window, went out before that channel's 6th message could.
    sixth = sorted(in_busy.values())[5]
    assert in_other[nonce_for(late, 0)] < sixth


async def test_alerts_due_together_in_a_channel_go_out_as_one_message_each_member_pinged_once(
    sessions: SessionFactory, emulator: EmulatorProcess, client: discord.Client
) -> None:
    guild = emulator.guilds[1]
    channel = guild.channel_ids[0]
    first, second = guild.member_ids[:2]
    # Seven alerts due at once; the second member follows every other article.
    ids = await queue(sessions, guild, channel, range(100, 107), lambda n: [first] + ([second] if n % 2 else []))
    ctx = sender(sessions, client, "test-bundles", bundle_max=5)
    assert await deliver_due(ctx) == 7

    page = sorted(await client.http.logs_from(channel, 100), key=lambda m: int(m["id"]))
    titles = [h.title for h in load_headlines()[100:107]]
    assert [[e["title"] for e in m["embeds"]] for m in page] == [titles[:5], titles[5:]]
    assert [m["content"] for m in page] == [f"<@{first}> <@{second}>"] * 2  # once each, not per alert
    assert [m["nonce"] for m in page] == [bundle_nonce(ids[:5]), bundle_nonce(ids[5:])]
    assert [button_ids(m) for m in page] == [["sw:alert"]] * 2  # follow / unfollow, one per message
    async with sessions() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
    assert [r.status for r in rows] == ["sent"] * 7
    assert [r.message_id for r in rows] == [int(page[0]["id"])] * 5 + [int(page[1]["id"])] * 2


async def test_a_server_that_turned_bundling_and_buttons_off_gets_one_plain_message_per_alert(
    sessions: SessionFactory, emulator: EmulatorProcess, client: discord.Client
) -> None:
    guild = emulator.guilds[1]
    channel = guild.channel_ids[1]
    async with sessions.begin() as session:  # /settings bundle_alerts:false alert_buttons:false
        await guild_repo.update_settings(session, guild.guild_id, bundle_alerts=False, alert_buttons=False)
    ids = await queue(sessions, guild, channel, range(200, 203))
    ctx = sender(sessions, client, "test-unbundled", bundle_max=5)
    assert await deliver_due(ctx) == 3

    page = sorted(await client.http.logs_from(channel, 100), key=lambda m: int(m["id"]))
    assert [len(m["embeds"]) for m in page] == [1, 1, 1]
    assert [m["nonce"] for m in page] == [nonce_for(i) for i in ids]
    assert [button_ids(m) for m in page] == [[], [], []]


async def test_a_drain_reads_a_servers_policy_once_while_it_is_fresh(sessions: SessionFactory) -> None:
    guild_id = 4242
    async with sessions.begin() as session:
        await guild_repo.update_settings(session, guild_id, story_mode="off")
    ctx = SendContext(sessions=sessions, transport=None, worker_id="policy-test")  # type: ignore[arg-type]
    trusted = PolicyReader(ctx, fresh_for=3600.0)
    rereading = PolicyReader(ctx, fresh_for=0.0)
    assert (await trusted.of(guild_id)).story_mode == "off"
    assert (await rereading.of(guild_id)).story_mode == "off"

    async with sessions.begin() as session:  # an admin changes the setting mid-drain
        await guild_repo.update_settings(session, guild_id, story_mode="thread")
    await asyncio.sleep(0.01)
    assert (await trusted.of(guild_id)).story_mode == "off"  # not read again while fresh
    assert (await rereading.of(guild_id)).story_mode == "thread"  # read again once stale
    assert (await PolicyReader(ctx).of(guild_id)).story_mode == "thread"  # the next drain sees it
