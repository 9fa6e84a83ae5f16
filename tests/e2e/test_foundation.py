"""The whole path, once: real bot process, emulated Discord, real feeds over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import BotFactory
from tests.emulator import DiscordEmulator
from tests.support.feed_server import FeedItem, FeedServer

NOW = datetime.now(UTC)


def item(n: int, title: str, summary: str = "", minutes_ago: int = 1) -> FeedItem:
    return FeedItem(
        title=title,
        link=f"https://news.test/articles/{n}",
        guid=f"urn:test:{n}",
        summary=summary,
        published=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


def alerts(emu: DiscordEmulator, channel_id: int) -> list[dict]:
    return [m for m in emu.messages(channel_id) if m.get("embeds")]


async def test_follow_alert_latest_and_restart(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    baseline = [item(1, "Kim Kardashian and Kanye West plan Paris party", minutes_ago=30)]
    url = feeds.set_feed("celeb.xml", baseline)
    bad = feeds.set_raw("broken.xml", b"<html>not a feed", status=200)
    failing = feeds.set_raw("fails.xml", b"oops", status=500)
    bot = await start_bot(feeds=[("Celeb News", url), ("Broken", bad), ("Failing", failing)])

    # Commands are synced, globally (no dev guild configured).
    names = {c["name"] for c in emulator.commands()}
    assert {"follow", "unfollow", "follows", "latest"} <= names

    # The first poll is a baseline: nothing already in the feed alerts. A second fetch
    # means it has finished.
    await emulator.wait_for(lambda: feeds.hits("celeb.xml") >= 2, timeout=20)

    interaction = await emulator.slash_command(
        guild.guild_id,
        guild.news_channel_id,
        guild.member_ids[0],
        "follow",
        {"query": "Kim  KANYE"},
    )
    await interaction.wait_response(timeout=10)
    assert interaction.ephemeral
    assert "kanye kim" in interaction.text()

    # Following the same query again is not an error and stores it once.
    again = await emulator.slash_command(
        guild.guild_id, guild.news_channel_id, guild.member_ids[0], "follow", {"query": "kanye kim"}
    )
    await again.wait_response(timeout=10)
    assert "already follow" in again.text()

    feeds.set_feed(
        "celeb.xml",
        [
            item(
                2,
                "Kim Kardashian's wedding: Kanye West picks Florence",
                "<p>The <b>couple</b> will wed.</p>",
            ),
            item(3, "Kimono week opens in Kyoto"),
            item(4, "Kanye's new album leaks"),
            *baseline,
        ],
    )
    await emulator.wait_for(lambda: len(alerts(emulator, guild.news_channel_id)) >= 1, timeout=20)
    await emulator.wait_for(lambda: feeds.hits("celeb.xml") >= 4, timeout=20)  # two more polls, nothing more
    posted = alerts(emulator, guild.news_channel_id)
    assert len(posted) == 1
    message = posted[0]
    embed = message["embeds"][0]
    assert embed["title"].startswith("Kim Kardashian's wedding")
    assert embed["url"] == "https://news.test/articles/2"
    assert "The couple will wed." in embed["description"]
    assert "<p>" not in embed["description"]
    assert embed["author"]["name"].startswith("Celeb News")
    assert f"<@{guild.member_ids[0]}>" in message["content"]
    request = [
        r
        for r in emulator.requests
        if r.method == "POST" and r.path.endswith(f"/channels/{guild.news_channel_id}/messages")
    ][-1]
    assert request.json["allowed_mentions"]["parse"] == []
    assert [int(u) for u in request.json["allowed_mentions"]["users"]] == [guild.member_ids[0]]
    assert request.json["nonce"] and request.json["enforce_nonce"] is True

    # /latest lists the stored matching headlines, newest first.
    latest = await emulator.slash_command(
        guild.guild_id, guild.news_channel_id, guild.member_ids[0], "latest", {"query": "kim kanye"}
    )
    await latest.wait_response(timeout=10)
    text = latest.text()
    assert text.index("Kim Kardashian's wedding") < text.index("Paris party")
    assert "Kimono" not in text and "new album" not in text

    # Broken and failing feeds did not stop the good one; their errors are recorded.
    assert feeds.hits("broken.xml") >= 1 and feeds.hits("fails.xml") >= 1

    # Restart: nothing is alerted again.
    assert await bot.stop() == 0
    await emulator.disconnect_all()
    bot = await start_bot(feeds=[("Celeb News", url), ("Broken", bad), ("Failing", failing)])
    before = feeds.hits("celeb.xml")
    await emulator.wait_for(lambda: feeds.hits("celeb.xml") >= before + 3, timeout=20)
    assert len(alerts(emulator, guild.news_channel_id)) == 1
    assert await bot.stop() == 0
    assert "test-token" not in bot.output()
    database = bot.workdir / "bot.db"
    assert database.exists() and b"test-token" not in database.read_bytes()


async def test_item_published_while_down_is_alerted_after_restart(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [item(1, "Old story about Taylor Swift", minutes_ago=60)])
    bot = await start_bot(feeds=[("F", url)])
    # A second fetch means the first poll (the baseline) has finished.
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=20)
    follow = await emulator.slash_command(
        guild.guild_id,
        guild.general_channel_id,
        guild.member_ids[1],
        "follow",
        {"query": "taylor swift"},
    )
    await follow.wait_response(timeout=10)
    assert await bot.stop() == 0
    feeds.set_feed(
        "f.xml",
        [
            item(2, "Taylor Swift announces tour"),
            item(1, "Old story about Taylor Swift", minutes_ago=60),
        ],
    )
    await emulator.disconnect_all()
    bot = await start_bot(feeds=[("F", url)])
    await emulator.wait_for(lambda: len(alerts(emulator, guild.general_channel_id)) == 1, timeout=20)
    assert alerts(emulator, guild.general_channel_id)[0]["embeds"][0]["title"] == "Taylor Swift announces tour"
    assert await bot.stop() == 0


async def test_bad_queries_get_clear_ephemeral_errors(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    await start_bot(feeds=[("F", feeds.set_feed("f.xml", []))])
    for query, expected in (
        ('"laura wasser', "quote"),
        ("-kylie", "exclu"),
        ("!!!", "no words"),
        ("x" * 250, "200"),
    ):
        interaction = await emulator.slash_command(
            guild.guild_id, guild.news_channel_id, guild.member_ids[0], "follow", {"query": query}
        )
        await interaction.wait_response(timeout=10)
        assert interaction.ephemeral
        assert expected in interaction.text().lower(), interaction.text()
    listing = await emulator.slash_command(guild.guild_id, guild.news_channel_id, guild.member_ids[0], "follows", {})
    await listing.wait_response(timeout=10)
    assert "No follows here yet" in listing.text()


async def test_missing_token_and_refused_token(tmp_path, emulator: DiscordEmulator) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import os
    import sys

    from tests.support.bot_process import REPO, BotConfig, BotProcess

    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(REPO / "config.toml"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0]

    config = BotConfig(emulator.api_base, emulator.gateway_url, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    refused = BotProcess(config, tmp_path, token="wrong-token-abcdefgh")
    await refused.start()
    code = await refused.wait_exit(timeout=30)
    assert code != 0
    output = refused.output()
    assert "refused the token" in output
    assert "wrong-token-abcdefgh" not in output
