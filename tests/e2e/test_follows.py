"""The follow front door through the emulator: queries, autocomplete, /latest, search feeds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import BotFactory
from tests.emulator import DiscordEmulator, StandardGuild
from tests.support.feed_server import FeedItem, FeedServer

MANY_CHANGES = "[limits]\nmember_changes_per_minute = 100\nmember_reads_per_minute = 100\n"


def item(n: int, title: str, minutes_ago: int = 1, source: tuple[str, str] | None = None) -> FeedItem:
    return FeedItem(
        title=title,
        link=f"https://pub{n}.test/story/{n}",
        guid=f"g{n}",
        published=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        source=source,
    )


async def run(emu: DiscordEmulator, guild: StandardGuild, user: int, name: str, options: dict | None = None):  # type: ignore[no-untyped-def]
    interaction = await emu.slash_command(guild.guild_id, guild.news_channel_id, user, name, options or {})
    await interaction.wait_response(timeout=15)
    return interaction


async def test_follow_errors_unfollow_autocomplete_and_follows(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))], extra=MANY_CHANGES)
    alice = guild.member_ids[0]
    for query, message in (
        ('"laura wasser', "quote"),
        ("kanye OR", "or"),
        ("-kylie -kris", "exclu"),
        ("ab*", "before *"),
        (" ".join(f"w{n}" for n in range(11)), "10"),
    ):
        reply = await run(emulator, guild, alice, "follow", {"query": query})
        assert reply.ephemeral and "⚠️" in reply.text() and message in reply.text().lower(), reply.text()
    for query in ("Kim  KANYE", '"laura wasser" divorc*', "beyoncé OR rihanna -tour"):
        assert "Following" in (await run(emulator, guild, alice, "follow", {"query": query})).text()
    # The same follow typed differently is one follow.
    assert "already follow" in (await run(emulator, guild, alice, "follow", {"query": '"kim" kanye'})).text()

    listing = await run(emulator, guild, alice, "follows")
    text = listing.text()
    assert "`kanye kim`" in text and '`"laura wasser" divorc*`' in text and "`beyonce OR rihanna -tour`" in text

    everything = await emulator.autocomplete(
        guild.guild_id, guild.news_channel_id, alice, "unfollow", {"query": ""}, focused="query"
    )
    await everything.wait_response(timeout=10)
    assert len(everything.autocomplete_choices or []) == 3
    some = await emulator.autocomplete(
        guild.guild_id, guild.news_channel_id, alice, "unfollow", {"query": "wass"}, focused="query"
    )
    await some.wait_response(timeout=10)
    assert [c["value"] for c in some.autocomplete_choices or []] == ['"laura wasser" divorc*']
    # Other members' follows never show up.
    bobs = await emulator.autocomplete(
        guild.guild_id,
        guild.news_channel_id,
        guild.member_ids[1],
        "unfollow",
        {"query": ""},
        focused="query",
    )
    await bobs.wait_response(timeout=10)
    assert bobs.autocomplete_choices == []

    gone = await run(emulator, guild, alice, "unfollow", {"query": "KANYE kim"})
    assert "Unfollowed `kanye kim`" in gone.text()
    assert "kanye kim" not in (await run(emulator, guild, alice, "follows")).text()


KARDASHIAN_TOPICS = [
    "opens a bakery in Tokyo",
    "sues tabloid over wedding photos",
    "launches mobile game sequel",
    "buys mansion in Bel Air",
    "attends Paris fashion week",
    "signs perfume licensing deal",
    "donates to Armenian charity",
    "skips Met Gala appearance",
    "hires new publicist",
    "films reality show finale",
    "visits Vatican museum",
    "trains for marathon",
    "adopts rescue puppy",
    "testifies before Senate panel",
]


async def test_latest_with_and_without_query_and_paging(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    # Fourteen stories, n minutes old; the first has two older articles by other outlets.
    stories = [item(n, f"Kim Kardashian {topic}", minutes_ago=n) for n, topic in enumerate(KARDASHIAN_TOPICS, 1)]
    stories += [
        item(101, "Kim Kardashian opens bakery in Tokyo's Shibuya district", minutes_ago=20),
        item(102, "Kim Kardashian's Tokyo bakery opens to long lines", minutes_ago=21),
    ]
    stories.append(item(99, "Taylor Swift wins award", minutes_ago=3))
    await start_bot(feeds=[("Celeb", feeds.set_feed("f.xml", stories))], extra=MANY_CHANGES)
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    alice = guild.member_ids[0]

    empty = await run(emulator, guild, alice, "latest")
    assert "follow nothing" in empty.text()
    # Typing a follow suggests the names in the news this server sees, heaviest first.
    typing = await emulator.autocomplete(
        guild.guild_id, guild.news_channel_id, alice, "follow", {"query": "kard"}, focused="query"
    )
    await typing.wait_response(timeout=10)
    assert (typing.autocomplete_choices or [{}])[0].get("value") == "kim kardashian", typing.autocomplete_choices
    followed = await run(emulator, guild, alice, "follow", {"query": "taylor swift"})
    # The reply shows what the new follow would have caught.
    assert [row.split(", ")[0] for row in followed.text().splitlines()[1:]] == [
        "The newest it would have caught:",
        "1. [Taylor Swift wins award](<https://pub99.test/story/99>) (pub99.test) — Celeb",
    ], followed.text()
    mine = await run(emulator, guild, alice, "latest")
    assert "Taylor Swift wins award" in mine.text() and "Kardashian" not in mine.text()

    page = await run(emulator, guild, alice, "latest", {"query": "kardashian"})
    rows = page.response["data"]["content"].splitlines()
    # A story a line, newest first, ten a page, numbered; the real host beside every link.
    assert [row.split(" — ")[0] for row in rows] == [
        f"{n}. [Kim Kardashian {topic}](<https://pub{n}.test/story/{n}>) (pub{n}.test)"
        for n, topic in enumerate(KARDASHIAN_TOPICS[:10], 1)
    ]
    # The Tokyo story's other coverage is counted on its line, not listed.
    assert rows[0].endswith("m ago · +2 more on this story") and "more on this story" not in "".join(rows[1:])
    older = await emulator.click_component(page.original, "latest:next", alice, guild.guild_id, guild.news_channel_id)
    await older.wait_response(timeout=10)
    updated = older.response["data"]["content"]
    assert [row.split(" — ")[0] for row in updated.splitlines()] == [
        f"{n}. [Kim Kardashian {topic}](<https://pub{n}.test/story/{n}>) (pub{n}.test)"
        for n, topic in enumerate(KARDASHIAN_TOPICS[10:], 11)
    ]

    bad = await run(emulator, guild, alice, "latest", {"query": '"unbalanced'})
    assert "quote" in bad.text().lower() and bad.ephemeral


async def test_an_alert_reached_only_through_a_search_feed(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    feeds.set_feed(
        "search",
        [
            item(
                1,
                "Taylor Swift old news",
                minutes_ago=30,
                source=("Old Outlet", "https://old.test"),
            )
        ],
    )
    await start_bot(
        feeds=[("Config", feeds.set_feed("f.xml", []))],
        search_enabled=True,
        search_template=feeds.url("search") + "?q={query}&hl=en",
        extra=MANY_CHANGES,
    )
    alice = guild.member_ids[0]
    await run(emulator, guild, alice, "follow", {"query": '"taylor swift" -rumor'})
    await emulator.wait_for(lambda: feeds.hits("search") >= 2, timeout=30)  # baseline done
    assert ("search", "q=%22taylor+swift%22&hl=en") in feeds.query_strings
    feeds.set_feed(
        "search",
        [
            item(
                2,
                "Taylor Swift announces new album",
                source=("Billboard", "https://billboard.test"),
            ),
            item(3, "Katy Perry tour dates", source=("Loose Match", "https://loose.test")),
            item(4, "Taylor Swift rumor mill", source=("Gossip", "https://gossip.test")),
            item(
                1,
                "Taylor Swift old news",
                minutes_ago=30,
                source=("Old Outlet", "https://old.test"),
            ),
        ],
    )
    await emulator.wait_for(lambda: len(emulator.messages(guild.news_channel_id)) >= 1, timeout=30)
    await emulator.wait_for(lambda: feeds.hits("search") >= 5, timeout=30)
    messages = emulator.messages(guild.news_channel_id)
    assert len(messages) == 1
    embed = messages[0]["embeds"][0]
    assert embed["title"] == "Taylor Swift announces new album"
    assert embed["author"]["name"].startswith("Billboard")


def buttons(message: dict) -> dict[str, str]:  # type: ignore[type-arg]
    """custom_id -> label of a message's buttons."""
    return {
        c["custom_id"]: c.get("label", "")
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("type") == 2
    }


async def click_when_recorded(emu: DiscordEmulator, alert: dict, user: int):  # type: ignore[no-untyped-def,type-arg]
    """Click an alert's button once the bot has recorded the alert as sent (it does so just
    after Discord answers; a member's click comes seconds later)."""
    for _ in range(50):
        clicked = await emu.click_component(alert, "sw:alert", user)
        await clicked.wait_response(timeout=10)
        if "too old" not in clicked.text():
            return clicked
        await asyncio.sleep(0.1)
    raise AssertionError("the alert was never recorded as sent")


async def test_an_alerts_button_follows_and_unfollows_what_it_matched(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    await start_bot(feeds=[("Celeb", url)], extra=MANY_CHANGES)
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    alice, bob = guild.member_ids[0], guild.member_ids[1]
    await run(emulator, guild, alice, "follow", {"query": "kim kanye"})
    feeds.set_feed("f.xml", [item(1, "Kim Kardashian and Kanye West marry")])
    await emulator.wait_for(lambda: len(emulator.messages(guild.news_channel_id)) == 1, timeout=30)
    [alert] = emulator.messages(guild.news_channel_id)
    assert buttons(alert) == {"sw:alert": "Follow / unfollow"}

    # Bob follows nothing: the button offers him the alert's follow, privately.
    offer = await click_when_recorded(emulator, alert, bob)
    follow_id = f"sw:alert:follow:{alert['id']}:0"
    assert offer.ephemeral and buttons(offer.original or {}) == {follow_id: "Follow kanye kim"}
    assert offer.text().splitlines()[:2] == ["This alert matched:", "• `kanye kim`"]
    followed = await emulator.click_component(offer.original or {}, follow_id, bob)
    await followed.wait_response(timeout=10)
    assert followed.response is not None
    assert followed.response["data"]["content"].splitlines() == [
        "✅ Following `kanye kim` in this channel.",
        "This alert matched:",
        "• `kanye kim` (you follow it here)",
    ]
    assert "`kanye kim`" in (await run(emulator, guild, bob, "follows")).text()

    # Alice, who was pinged, is offered the way out.
    mine = await click_when_recorded(emulator, alert, alice)
    unfollow_id = f"sw:alert:unfollow:{alert['id']}:0"
    assert buttons(mine.original or {}) == {unfollow_id: "Unfollow kanye kim"}
    gone = await emulator.click_component(mine.original or {}, unfollow_id, alice)
    await gone.wait_response(timeout=10)
    assert gone.response is not None
    assert gone.response["data"]["content"].splitlines()[0] == "Unfollowed `kanye kim`."
    assert "No follows here yet" in (await run(emulator, guild, alice, "follows")).text()
    assert "`kanye kim`" in (await run(emulator, guild, bob, "follows")).text()

    # The button makes the same checks as /follow: here, the server's follow channels.
    restricted = await run(emulator, guild, guild.owner_id, "settings", {"follow_channel": guild.general_channel_id})
    assert "Saved" in restricted.text()
    again = await click_when_recorded(emulator, alert, alice)
    refused = await emulator.click_component(again.original or {}, follow_id, alice)
    await refused.wait_response(timeout=10)
    assert refused.ephemeral and "This server keeps follows in" in refused.text(), refused.text()
    assert "No follows here yet" in (await run(emulator, guild, alice, "follows")).text()
