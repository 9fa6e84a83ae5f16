"""Nothing in a feed document makes the parser fetch or open anything.

A real HTTP server on 127.0.0.1 counts requests; documents point their DTDs and
entities at it. A positive control shows a parser with external entities enabled does
hit the server, so a zero count means something.
"""

from __future__ import annotations

import asyncio
import io
import xml.sax
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.errors import FeedParseError
from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import REAL_DIR

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
ITEM = "<item><title>T &x;</title><link>http://example.com/a</link></item>"


class CountingServer:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if request.path.endswith((".dtd", "/pe")):
            return web.Response(text='<!ENTITY x "fetched">', content_type="application/xml-dtd")
        return web.Response(text="fetched", content_type="text/plain")


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    counting = CountingServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", counting.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    counting.base = f"http://127.0.0.1:{port}"
    yield counting
    await runner.cleanup()


def _documents(base: str) -> dict[str, str]:
    rss = f'<rss version="2.0"><channel><title>c</title>{ITEM}</channel></rss>'
    return {
        "external dtd": f'<!DOCTYPE rss SYSTEM "{base}/system.dtd">{rss}',
        "public dtd": f'<!DOCTYPE rss PUBLIC "-//X//Y//EN" "{base}/public.dtd">{rss}',
        "external entity": f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{base}/entity">]>{rss}',
        "parameter entity": f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{base}/pe"> %p;]>{rss}',
        "file entity": f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>{rss}',
        "stylesheet": f'<?xml-stylesheet type="text/xsl" href="{base}/style.xsl"?>{rss}',
        "xinclude": rss.replace(
            "<title>c</title>",
            f'<title xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{base}/inc"/></title>',
        ),
    }


def _parse_in_thread_outcome(body: bytes) -> ParsedFeed | FeedParseError:
    try:
        return parse_feed(body, url="https://example.com/feed", fetched_at=FETCHED_AT)
    except FeedParseError as error:
        return error


async def test_the_server_counts_requests_from_a_parser_that_fetches(
    server: CountingServer,
) -> None:
    body = _documents(server.base)["external entity"].encode()

    def naive_parse() -> None:
        parser = xml.sax.make_parser()
        parser.setFeature(xml.sax.handler.feature_external_ges, True)
        parser.setContentHandler(xml.sax.handler.ContentHandler())
        parser.parse(io.BytesIO(body))

    await asyncio.wait_for(asyncio.to_thread(naive_parse), timeout=10)

    assert server.requests == ["/entity"]


@pytest.mark.parametrize(
    "kind",
    [
        "external dtd",
        "public dtd",
        "external entity",
        "parameter entity",
        "file entity",
        "stylesheet",
        "xinclude",
    ],
)
@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
async def test_parse_feed_never_fetches(server: CountingServer, kind: str, codec: str) -> None:
    body = _documents(server.base)[kind].encode(codec)

    # In a thread: a synchronous fetch from the event loop's thread would deadlock.
    outcome = await asyncio.wait_for(asyncio.to_thread(_parse_in_thread_outcome, body), 10)

    assert server.requests == []
    if isinstance(outcome, ParsedFeed):
        assert all("fetched" not in item.title for item in outcome.items)
        assert all("localhost" not in item.title for item in outcome.items)


def test_a_body_that_is_a_file_path_is_not_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open a path and parse the file it names.
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes((REAL_DIR / "xkcd-rss2.xml").read_bytes())

    with pytest.raises(FeedParseError):
        parse_feed(str(feed_file).encode(), url="https://e.com/", fetched_at=FETCHED_AT)
