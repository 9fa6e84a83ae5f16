"""Delivery through the emulator: exactly once, stories in threads, never a flood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import BotFactory
from tests.emulator import DiscordEmulator, Perm, StandardGuild
from tests.emulator.recording import thread_names
from tests.support.feed_server import FeedItem, FeedServer

SEND = r"^/channels/\d+/messages$"


def item(n: int, title: str, summary: str = "", minutes_ago: int = 1, host: str = "news.test") -> FeedItem:
    return FeedItem(
        title=title,
        link=f"https://{host}/articles/{n}",
        guid=f"urn:{host}:{n}",
        summary=summary,
        published=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


def channel_messages(emu: DiscordEmulator, channel_id: int) -> list[dict]:
    return emu.messages(channel_id)


async def follow(emu: DiscordEmulator, guild: StandardGuild, user: int, query: str, channel: int | None = None) -> None:
    interaction = await emu.slash_command(
        guild.guild_id, channel or guild.news_channel_id, user, "follow", {"query": query}
    )
    await interaction.wait_response(timeout=10)
    assert "Following" in interaction.text(), interaction.text()


async def ready_feed(emu: DiscordEmulator, feeds: FeedServer, name: str) -> None:
    """Wait until a feed's baseline poll has finished (a second fetch has started)."""
    await emu.wait_for(lambda: feeds.hits(name) >= 2, timeout=30)


async def test_crash_after_send_is_not_doubled_and_before_send_not_lost(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    bot = await start_bot(feeds=[("F", url)])
    await ready_feed(emulator, feeds, "f.xml")
    await follow(emulator, guild, guild.member_ids[0], "beyonce")

    # 1. Discord takes the message but the bot dies before it hears back.
    emulator.delay_next("POST", SEND, 4.0, apply=True)
    feeds.set_feed("f.xml", [item(1, "Beyoncé announces world tour")])
    await emulator.wait_for_request("POST", SEND, timeout=30)
    await bot.kill()
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 1, timeout=10)
    await emulator.disconnect_all()
    bot = await start_bot(feeds=[("F", url)])
    # The restarted bot re-sends with the same nonce: Discord (the emulator) dedupes it.
    await emulator.wait_for(
        lambda: sum(1 for r in emulator.requests if r.method == "POST" and r.path.endswith("/messages")) >= 2,
        timeout=60,
    )
    await ready_feed(emulator, feeds, "f.xml")
    assert len(channel_messages(emulator, guild.news_channel_id)) == 1

    # 2. The request never reaches Discord and the bot dies: the alert is sent after restart.
    emulator.delay_next("POST", SEND, 4.0, apply=False)
    feeds.set_feed(
        "f.xml",
        [item(2, "Beyoncé adds a second London date"), item(1, "Beyoncé announces world tour")],
    )
    mark = len(emulator.requests)
    await emulator.wait_for(
        lambda: (
            any(r.method == "POST" and r.path.endswith("/messages") for r in emulator.requests[mark:])
            or len(channel_messages(emulator, guild.news_channel_id)) > 1
        ),
        timeout=30,
    )
    await bot.kill()
    await emulator.disconnect_all()
    bot = await start_bot(feeds=[("F", url)])
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 2, timeout=60)
    titles = [m["embeds"][0]["title"] for m in channel_messages(emulator, guild.news_channel_id)]
    assert titles == ["Beyoncé announces world tour", "Beyoncé adds a second London date"]
    assert await bot.stop() == 0


async def test_429_then_success(emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(feeds=[("F", url)])
    await ready_feed(emulator, feeds, "f.xml")
    await follow(emulator, guild, guild.member_ids[0], "adele")
    emulator.fail_next("POST", SEND, 429, retry_after=1.0)
    feeds.set_feed("f.xml", [item(1, "Adele returns with a new single")])
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 1, timeout=30)
    statuses = [r.status for r in emulator.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert statuses[0] == 429 and statuses[-1] == 200
    assert len(channel_messages(emulator, guild.news_channel_id)) == 1


async def test_403_pauses_notifies_and_resumes(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(feeds=[("F", url)])
    await ready_feed(emulator, feeds, "f.xml")
    alice, bob = guild.member_ids
    await follow(emulator, guild, alice, "rihanna")
    await follow(emulator, guild, bob, "rihanna OR drake")
    emulator.close_dms(bob)  # bob hears it in the system channel instead
    emulator.set_bot_channel_permissions(guild.news_channel_id, deny=Perm.SEND_MESSAGES)
    feeds.set_feed("f.xml", [item(1, "Rihanna and Drake spotted in Paris")])
    await emulator.wait_for(lambda: len(emulator.dm_messages(alice)) == 1, timeout=40)
    await emulator.wait_for(
        lambda: any(str(bob) in m.get("content", "") for m in channel_messages(emulator, guild.system_channel_id)),
        timeout=20,
    )
    assert "paused" in emulator.dm_messages(alice)[0]["content"]
    attempts = [
        r for r in emulator.requests if r.method == "POST" and r.path == f"/channels/{guild.news_channel_id}/messages"
    ]
    assert len(attempts) == 3 and all(r.status == 403 for r in attempts)
    # Told once per pause, however long it lasts.
    feeds.set_feed(
        "f.xml",
        [item(2, "Rihanna launches a new line"), item(1, "Rihanna and Drake spotted in Paris")],
    )
    await ready_feed(emulator, feeds, "f.xml")
    assert len(emulator.dm_messages(alice)) == 1

    # Permissions come back; the channel update event lets the paused channel try again.
    emulator.set_bot_channel_permissions(guild.news_channel_id, allow=Perm.SEND_MESSAGES)
    await emulator.channel_update(guild.news_channel_id)
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 2, timeout=30)
    assert len(emulator.dm_messages(alice)) == 1


async def test_404_removes_the_channels_follows_and_notifies(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(feeds=[("F", url)])
    await ready_feed(emulator, feeds, "f.xml")
    alice = guild.member_ids[0]
    await follow(emulator, guild, alice, "coldplay")
    emulator.fail_next("POST", SEND, 404, {"message": "Unknown Channel", "code": 10003})
    feeds.set_feed("f.xml", [item(1, "Coldplay announce stadium tour")])
    await emulator.wait_for(lambda: len(emulator.dm_messages(alice)) == 1, timeout=30)
    assert "removed" in emulator.dm_messages(alice)[0]["content"]
    listing = await emulator.slash_command(guild.guild_id, guild.news_channel_id, alice, "follows", {})
    await listing.wait_response(timeout=10)
    assert "No follows here yet" in listing.text()


async def test_burst_of_50_gives_at_most_the_cap_plus_one_summary(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    emulator.rate_limits = False  # the bot's own cap is under test here
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(
        feeds=[("F", url)],
        extra='[alerts]\nstory_mode = "separate"\nmax_per_window = 10\nwindow_seconds = 20\n',
    )
    await ready_feed(emulator, feeds, "f.xml")
    await follow(emulator, guild, guild.member_ids[0], "festival")
    burst = [item(n, f"Festival lineup news number {n}: band {n} confirmed") for n in range(50)]
    feeds.set_feed("f.xml", burst)
    await emulator.wait_for(
        lambda: any(not m.get("embeds") for m in channel_messages(emulator, guild.news_channel_id)), timeout=60
    )
    await ready_feed(emulator, feeds, "f.xml")
    messages = channel_messages(emulator, guild.news_channel_id)
    alerts = [m for m in messages if m.get("embeds")]
    summaries = [m for m in messages if not m.get("embeds")]
    # The cap counts articles: 10 alerts, due together, so in two messages of 5.
    assert [len(m["embeds"]) for m in alerts] == [5, 5]
    assert len(summaries) == 1
    summary = summaries[0]
    assert "40 more matching articles" in summary["content"]
    assert "<@" not in summary["content"]
    assert emulator.allowed_mentions(int(summary["id"]))["parse"] == []  # type: ignore[index]


async def test_second_outlet_goes_to_the_story_thread_without_a_ping(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    first = feeds.set_feed("celeb.xml", [], title="Celeb News")
    second = feeds.set_feed("gossip.xml", [], title="Gossip Daily")
    await start_bot(feeds=[("Celeb News", first), ("Gossip Daily", second)])
    await ready_feed(emulator, feeds, "celeb.xml")
    await ready_feed(emulator, feeds, "gossip.xml")
    alice = guild.member_ids[0]
    await follow(emulator, guild, alice, "kim kardashian")
    feeds.set_feed(
        "celeb.xml",
        [
            item(
                1,
                "Kim Kardashian and Kanye West marry in Florence ceremony",
                "The couple married in a lavish ceremony at a Florence fortress on Saturday, with 600 guests.",
                host="celeb.test",
            )
        ],
    )
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 1, timeout=30)
    root = channel_messages(emulator, guild.news_channel_id)[0]
    assert f"<@{alice}>" in root["content"]
    feeds.set_feed(
        "gossip.xml",
        [
            item(
                7,
                "Kim Kardashian, Kanye West marry in lavish Florence wedding ceremony",
                "Kanye West and Kim Kardashian married on Saturday in a lavish ceremony attended by 600 guests.",
                host="gossip.test",
            ),
            item(
                8,
                "Kim Kardashian launches new fragrance line",
                "The reality star unveiled her latest perfume at a Los Angeles event.",
                host="gossip.test",
            ),
        ],
    )
    thread_id = int(root["id"])  # a thread started from a message has the message's id
    await emulator.wait_for(lambda: len(channel_messages(emulator, thread_id)) == 1, timeout=30)
    in_thread = channel_messages(emulator, thread_id)[0]
    assert in_thread["embeds"][0]["title"] == "Kim Kardashian, Kanye West marry in lavish Florence wedding ceremony"
    assert not in_thread.get("content")  # no new ping
    assert thread_names(emulator.requests) == [
        "Kim Kardashian and Kanye West marry in Florence ceremony"
    ]  # named after the story
    # A different Kim Kardashian story is a new alert, not part of the wedding thread.
    await emulator.wait_for(lambda: len(channel_messages(emulator, guild.news_channel_id)) == 2, timeout=30)
    assert (
        channel_messages(emulator, guild.news_channel_id)[1]["embeds"][0]["title"]
        == "Kim Kardashian launches new fragrance line"
    )
    assert len(channel_messages(emulator, thread_id)) == 1
    await emulator.wait_for(
        lambda: (
            "+1 outlet: Gossip Daily"
            in channel_messages(emulator, guild.news_channel_id)[0]["embeds"][0]["footer"]["text"]
        ),
        timeout=10,
    )
