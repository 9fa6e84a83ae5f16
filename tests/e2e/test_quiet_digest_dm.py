"""Digest, quiet-hours and DM delivery through the emulator (real clock: about 2 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import BotFactory, alerts_in
from tests.emulator import DiscordEmulator
from tests.support.feed_server import FeedItem, FeedServer

MANY = "[limits]\nmember_changes_per_minute = 100\n"


def item(n: int, title: str) -> FeedItem:
    return FeedItem(title=title, link=f"https://n.test/{n}", guid=f"g{n}", published=datetime.now(UTC))


async def test_dm_follow_gets_a_direct_message_not_a_ping(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))])
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    alice = guild.member_ids[0]
    reply = await emulator.slash_command(
        guild.guild_id, guild.news_channel_id, alice, "follow", {"query": "grammys", "dm": True}
    )
    await reply.wait_response(timeout=10)
    assert "direct message" in reply.text()
    feeds.set_feed("f.xml", [item(1, "Grammys 2026: the full winners list")])
    await emulator.wait_for(lambda: len(emulator.dm_messages(alice)) == 1, timeout=30)
    assert emulator.dm_messages(alice)[0]["embeds"][0]["title"] == "Grammys 2026: the full winners list"
    assert emulator.messages(guild.news_channel_id) == []


async def test_quiet_hours_hold_pings_and_a_daily_digest_arrives(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    now = datetime.now(UTC)
    # Clock times have minute resolution, so aim 135 s ahead: the digest and the end of quiet hours
    # then fall 75-135 s from now, after the setup and the alerts below (which take well under 60 s).
    # Aiming a minute ahead left as little as a few seconds, and the digest went to tomorrow.
    digest_at = f"{now + timedelta(seconds=135):%H:%M}"
    await start_bot(
        feeds=[("F", feeds.set_feed("f.xml", []))],
        extra=MANY + f'[alerts]\ndigest_time = "{digest_at}"\nstory_mode = "separate"\n',
    )
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    alice, bob = guild.member_ids
    # Quiet hours from a minute ago until the digest's minute.
    quiet = f"{(now - timedelta(minutes=1)):%H:%M}-{digest_at}"
    settings = await emulator.slash_command(
        guild.guild_id, guild.news_channel_id, guild.owner_id, "settings", {"quiet_hours": quiet}
    )
    await settings.wait_response(timeout=10)
    assert quiet in settings.text()
    follow = await emulator.slash_command(guild.guild_id, guild.news_channel_id, alice, "follow", {"query": "emmys"})
    await follow.wait_response(timeout=10)
    daily = await emulator.slash_command(
        guild.guild_id,
        guild.general_channel_id,
        bob,
        "follow",
        {"query": "emmys", "delivery": "daily"},
    )
    await daily.wait_response(timeout=10)
    assert "daily digest" in daily.text()

    feeds.set_feed("f.xml", [item(1, "Emmys: the nominations are in"), item(2, "Emmys host announced")])
    await emulator.wait_for(lambda: alerts_in(emulator, guild.news_channel_id) == 2, timeout=30)
    posted = emulator.messages(guild.news_channel_id)
    assert all(not m.get("content") for m in posted)  # alerts during quiet hours ping nobody
    assert emulator.messages(guild.general_channel_id) == []  # bob's follow waits for the digest

    # The daily digest, at digest_time: one message for bob in #general, grouped by story. It is
    # due up to 135 s after the test began and the digest job looks every 15 s: wait long enough.
    await emulator.wait_for(lambda: len(emulator.messages(guild.general_channel_id)) >= 1, timeout=240)
    digest = emulator.messages(guild.general_channel_id)[0]
    assert f"<@{bob}>" in digest["content"] and "daily digest" in digest["content"]
    assert "Emmys: the nominations are in" in digest["content"] and "Emmys host announced" in digest["content"]
    assert [int(u) for u in emulator.allowed_mentions(int(digest["id"]))["users"]] == [bob]  # type: ignore[index]

    # When quiet hours end, one message pings the members held back.
    await emulator.wait_for(lambda: len(emulator.messages(guild.news_channel_id)) == len(posted) + 1, timeout=200)
    gathered = emulator.messages(guild.news_channel_id)[-1]
    assert f"<@{alice}>" in gathered["content"] and "2 alerts" in gathered["content"]
    assert [int(u) for u in emulator.allowed_mentions(int(gathered["id"]))["users"]] == [alice]  # type: ignore[index]
