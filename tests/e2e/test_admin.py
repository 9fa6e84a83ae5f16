"""Admin commands through the emulator: permissions, SSRF refusals, feeds, status, OPML."""

from __future__ import annotations

import aiohttp

from tests.e2e.conftest import BotFactory
from tests.emulator import DiscordEmulator, StandardGuild
from tests.support.feed_server import FeedItem, FeedServer

ALLOW_PRIVATE = "[security]\nallow_private_feed_urls = true\n"
MANY_CHANGES = "[limits]\nmember_changes_per_minute = 100\n"


async def run(
    emu: DiscordEmulator,
    guild: StandardGuild,
    user: int,
    name: str,
    options: dict | None = None,
    *,
    subcommand: str | None = None,
    channel: int | None = None,
):  # type: ignore[no-untyped-def]
    interaction = await emu.slash_command(
        guild.guild_id,
        channel or guild.news_channel_id,
        user,
        name,
        options or {},
        subcommand=subcommand,
    )
    await interaction.wait_response(timeout=15)
    return interaction


async def final_text(interaction) -> str:  # type: ignore[no-untyped-def]
    """The reply's text, after a deferred ('thinking') reply has been filled in."""
    if interaction.response_type == 5:
        await interaction.wait_followups(1, timeout=30)
    return interaction.text()


async def test_members_without_manage_server_are_refused_by_the_bot(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))])
    commands = {c["name"]: c for c in emulator.commands()}
    # Declared for Discord, so it hides them from members who lack the permission…
    for name in ("feeds", "settings", "status"):
        assert int(commands[name]["default_member_permissions"]) & (1 << 5)
    # …and enforced by the bot, since the emulator (like a misconfigured server) lets them through.
    alice = guild.member_ids[0]
    for name, sub, options in (
        ("feeds", "add", {"url": "https://example.com/feed.xml"}),
        ("feeds", "list", {}),
        ("status", None, {}),
        ("settings", None, {"story_mode": "separate"}),
    ):
        reply = await run(emulator, guild, alice, name, options, subcommand=sub)
        assert reply.ephemeral
        assert "Manage Server" in reply.text(), reply.text()
    other = await run(emulator, guild, alice, "follows", {"member": guild.member_ids[1]})
    assert "Manage Server" in other.text()


async def test_feeds_add_refuses_non_public_addresses(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))], extra=MANY_CHANGES)
    secret = feeds.set_feed("secret.xml", [])
    for url, expected in (
        ("http://127.0.0.1/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.1/rss", "private"),
        ("http://2130706433/rss", "loopback"),
        (secret, "loopback"),
        ("ftp://example.com/feed", "http"),
    ):
        reply = await run(emulator, guild, guild.owner_id, "feeds", {"url": url}, subcommand="add")
        text = await final_text(reply)
        assert reply.ephemeral
        assert "Could not add" in text or "⚠️" in text, text
        assert expected in text.lower(), text
    assert feeds.hits("secret.xml") == 0  # refused before any connection


async def test_feeds_add_list_remove_status_and_opml(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    items = [FeedItem(title=f"Headline {n}", link=f"https://site.test/{n}", guid=str(n)) for n in range(5)]
    own = feeds.set_feed("own.xml", items, title="Site Test News")
    second = feeds.set_feed("second.xml", items[:1], title="Second Site")
    await start_bot(feeds=[("Global", feeds.set_feed("g.xml", []))], extra=ALLOW_PRIVATE + MANY_CHANGES)
    owner = guild.owner_id

    added = await run(emulator, guild, owner, "feeds", {"url": own}, subcommand="add")
    text = await final_text(added)
    assert "Site Test News" in text and "Headline 0" in text and "Headline 2" in text
    assert "Headline 3" not in text

    listing = await run(emulator, guild, owner, "feeds", {}, subcommand="list")
    assert "Site Test News" in listing.text() and "Global" in listing.text()
    assert "global" in listing.text() and "this server" in listing.text()

    await run(emulator, guild, guild.member_ids[0], "follow", {"query": "headline"})
    await run(
        emulator,
        guild,
        guild.member_ids[1],
        "follow",
        {"query": "news"},
        channel=guild.general_channel_id,
    )
    status = await run(emulator, guild, owner, "status")
    text = status.text()
    assert "Follows: 2" in text
    assert f"<#{guild.news_channel_id}>: 1" in text and f"<#{guild.general_channel_id}>: 1" in text
    assert "Paused channels: none" in text

    # OPML out, then in (a second feed arrives through the import).
    export = await run(emulator, guild, owner, "feeds", {}, subcommand="export")
    [attachment] = (export.original or {})["attachments"]
    assert attachment["filename"] == "storywatch-feeds.opml"
    async with aiohttp.ClientSession() as http, http.get(attachment["url"]) as answer:
        exported = await answer.read()
    assert own.encode() in exported and b"<opml" in exported
    opml = exported.replace(own.encode(), second.encode()).replace(b"Site Test News", b"Second Site")
    imported = await run(emulator, guild, owner, "feeds", {"file": ("feeds.opml", opml)}, subcommand="import")
    assert "Imported 1 of 1" in await final_text(imported)
    assert export.ephemeral

    choices = await emulator.autocomplete(
        guild.guild_id,
        guild.news_channel_id,
        owner,
        "feeds",
        {"feed": ""},
        focused="feed",
        subcommand="remove",
    )
    await choices.wait_response(timeout=10)
    names = {c["name"]: c["value"] for c in choices.autocomplete_choices or []}
    assert set(names) == {"Site Test News", "Second Site"}
    removed = await run(emulator, guild, owner, "feeds", {"feed": names["Site Test News"]}, subcommand="remove")
    assert "Removed" in removed.text()
    listing = await run(emulator, guild, owner, "feeds", {}, subcommand="list")
    assert "Site Test News" not in listing.text()


async def test_settings_show_and_change(emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))])
    shown = await run(emulator, guild, guild.owner_id, "settings")
    assert "Story mode: `thread`" in shown.text()
    assert "Alerts arriving together: one message, up to 5" in shown.text()
    assert "Follow / unfollow button on alerts: on" in shown.text()
    changed = await run(
        emulator,
        guild,
        guild.owner_id,
        "settings",
        {
            "story_mode": "separate",
            "quiet_hours": "23:00-07:00",
            "timezone": "Europe/Paris",
            "follow_channel": guild.news_channel_id,
            "bundle_alerts": False,
            "alert_buttons": False,
        },
    )
    text = changed.text()
    assert "Saved" in text and "`separate`" in text and "23:00-07:00 (Europe/Paris)" in text
    assert "Alerts arriving together: one message each" in text
    assert "Follow / unfollow button on alerts: off" in text
    bad = await run(emulator, guild, guild.owner_id, "settings", {"timezone": "Mars/Olympus"})
    assert "Unknown time zone" in bad.text()
    # Follows are now only allowed in #news.
    elsewhere = await run(
        emulator,
        guild,
        guild.member_ids[0],
        "follow",
        {"query": "kim"},
        channel=guild.general_channel_id,
    )
    assert "keeps follows in" in elsewhere.text()


async def test_member_rate_limit_and_leave_cleanup(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))])
    alice, bob = guild.member_ids
    replies = [await run(emulator, guild, alice, "follow", {"query": f"topic{n}"}) for n in range(6)]
    assert all("Following" in r.text() for r in replies[:5])
    assert "too fast" in replies[5].text() and replies[5].ephemeral
    await run(emulator, guild, bob, "follow", {"query": "bob topic"})

    # An admin sees another member's follows.
    seen = await run(emulator, guild, guild.owner_id, "follows", {"member": alice})
    assert "topic0" in seen.text() and "topic4" in seen.text()

    await emulator.member_remove(guild.guild_id, alice)
    for _ in range(50):
        listing = await run(emulator, guild, guild.owner_id, "follows", {"member": alice})
        if "No follows" in listing.text():
            break
    assert "No follows" in listing.text()
    still = await run(emulator, guild, guild.owner_id, "follows", {"member": bob})
    assert "bob topic" in still.text()


async def test_without_the_members_intent_leavers_are_checked_before_a_mention(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(feeds=[("F", url)], members_intent=False)
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    alice, bob = guild.member_ids
    for user in (alice, bob):
        await run(emulator, guild, user, "follow", {"query": "eurovision"})
    await emulator.member_remove(guild.guild_id, alice)  # the bot is not told: no intent
    feeds.set_feed("f.xml", [FeedItem("Eurovision final tonight", "https://n.test/e", "e")])
    await emulator.wait_for(lambda: len(emulator.messages(guild.news_channel_id)) == 1, timeout=30)
    alert = emulator.messages(guild.news_channel_id)[0]
    assert f"<@{bob}>" in alert["content"] and f"<@{alice}>" not in alert["content"]
    listing = await run(emulator, guild, guild.owner_id, "follows", {"member": alice})
    assert "No follows" in listing.text()
