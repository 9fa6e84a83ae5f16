"""Operator-facing behaviour of the real process: health, metrics, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime

import aiohttp

from tests.e2e.conftest import BotFactory
from tests.emulator import DiscordEmulator
from tests.support.feed_server import FeedItem, FeedServer

SEND = r"^/channels/\d+/messages$"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        return answer.status, await answer.text()


async def test_healthz_and_metrics(emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory) -> None:
    emulator.standard_guild()
    port = free_port()
    await start_bot(
        feeds=[
            ("F", feeds.set_feed("f.xml", [])),
            ("Down", feeds.set_raw("down.xml", b"x", status=503)),
        ],
        extra=f"[health]\nenabled = true\nport = {port}\n",
    )
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2 and feeds.hits("down.xml") >= 1, timeout=30)
    base = f"http://127.0.0.1:{port}"
    status, body = await get(base + "/healthz")
    assert status == 200, body
    assert json.loads(body)["checks"] == {"gateway": True, "scheduler": True, "database": True}
    status, metrics = await get(base + "/metrics")
    assert status == 200
    values = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))
    assert float(values["storywatch_polls_total"]) >= 3
    assert float(values['storywatch_fetch_errors_total{kind="http_status"}']) >= 1

    # Discord goes away: the gateway check fails and /healthz says which.
    await emulator.set_outage(True)
    for _ in range(100):
        status, body = await get(base + "/healthz")
        if status == 503:
            break

        await asyncio.sleep(0.1)
    assert status == 503 and json.loads(body)["failing"] == ["gateway"]
    await emulator.set_outage(False)


async def test_sigterm_during_delivery_loses_nothing_and_doubles_nothing(
    emulator: DiscordEmulator, feeds: FeedServer, start_bot: BotFactory
) -> None:
    guild = emulator.standard_guild()
    url = feeds.set_feed("f.xml", [])
    bot = await start_bot(feeds=[("F", url)])
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 2, timeout=30)
    follow = await emulator.slash_command(
        guild.guild_id, guild.news_channel_id, guild.member_ids[0], "follow", {"query": "oscars"}
    )
    await follow.wait_response(timeout=10)
    emulator.delay_next("POST", SEND, 2.0, apply=True)
    now = datetime.now(UTC)
    feeds.set_feed(
        "f.xml",
        [FeedItem(f"Oscars night {n}: winners list", f"https://n.test/{n}", f"o{n}", published=now) for n in range(3)],
    )
    await emulator.wait_for_request("POST", SEND, timeout=30)
    assert await bot.stop() == 0  # SIGTERM while the first send is in flight
    stopped_with = len(emulator.messages(guild.news_channel_id))
    assert stopped_with >= 1  # the in-flight send was allowed to finish
    await emulator.disconnect_all()
    bot = await start_bot(feeds=[("F", url)])
    await emulator.wait_for(lambda: len(emulator.messages(guild.news_channel_id)) >= 1, timeout=30)
    await emulator.wait_for(lambda: feeds.hits("f.xml") >= 6, timeout=30)
    messages = emulator.messages(guild.news_channel_id)
    titles = sorted(m["embeds"][0]["title"] for m in messages if m.get("embeds"))
    threads = [m for mid in (int(m["id"]) for m in messages) for m in emulator.messages(mid)]
    thread_titles = sorted(m["embeds"][0]["title"] for m in threads if m.get("embeds"))
    # Three articles: each delivered exactly once, in the channel or in its story thread.
    assert sorted(titles + thread_titles) == [f"Oscars night {n}: winners list" for n in range(3)]
    assert await bot.stop() == 0
