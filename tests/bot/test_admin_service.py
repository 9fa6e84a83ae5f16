"""/feeds add's core with a real fetcher: DNS and redirect cases of the SSRF guard.

DNS answers come from a stub resolver and every socket is refused unless it goes to
loopback, so no test can send traffic off the machine even if the guard had a bug.
'public.test' resolves to 127.0.0.1, which only these tests treat as public.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.admin_service import add_server_feed
from bot.errors import AdminError
from bot.settings import parse_settings
from db.engine import SessionFactory
from tests.bot.fetch.helpers import FetcherFactory, loopback_counts_as_public
from tests.support.feed_server import FeedItem, rss_document

SETTINGS = parse_settings("[limits]\nfeeds_per_server = 2\n", "test", {})


@pytest.fixture
async def site() -> AsyncIterator[tuple[int, list[str]]]:
    hits: list[str] = []

    async def feed(request: web.Request) -> web.Response:
        hits.append(request.path)
        items = [FeedItem(f"Headline {n}", f"https://site.test/{n}", str(n)) for n in range(5)]
        return web.Response(body=rss_document("Public Site", items), content_type="application/rss+xml")

    async def to_private(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound(request.query.get("to", "http://10.0.0.1/feed"))

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/redirect", to_private)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield tcp._server.sockets[0].getsockname()[1], hits  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@pytest.fixture
async def make_fetcher() -> AsyncIterator[FetcherFactory]:
    factory = FetcherFactory()
    try:
        yield factory
    finally:
        await factory.close()
    assert [t for t in factory.sockets.targets if not t.startswith("127.")] == []


async def add(sessions: SessionFactory, fetcher, url: str, guild: int = 1):  # type: ignore[no-untyped-def]
    return await add_server_feed(sessions, fetcher, None, SETTINGS, guild_id=guild, user_id=7, url=url, name=None)


async def test_public_feed_is_added_with_a_preview(
    sessions: SessionFactory, make_fetcher: FetcherFactory, site: tuple[int, list[str]]
) -> None:
    port, _ = site
    fetcher = await make_fetcher(is_allowed_address=loopback_counts_as_public)
    preview = await add(sessions, fetcher, f"http://public.test:{port}/feed")
    assert preview.title == "Public Site" and preview.headlines == ["Headline 0", "Headline 1", "Headline 2"]
    again = await add(sessions, fetcher, f"http://public.test:{port}/feed")
    assert again.already_added


@pytest.mark.parametrize(
    ("host", "expected"),
    [("evil.test", "private"), ("metadata.test", "link-local"), ("mapped.test", "loopback"), ("mixed.test", "private")],
)
async def test_hostnames_resolving_to_private_addresses_are_refused(
    sessions: SessionFactory, make_fetcher: FetcherFactory, host: str, expected: str
) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(AdminError, match=expected):
        await add(sessions, fetcher, f"http://{host}/feed")


@pytest.mark.parametrize("target", ["http://10.0.0.1/feed", "http://169.254.169.254/latest", "http://evil.test/x"])
async def test_public_url_redirecting_to_a_private_address_is_refused_at_the_hop(
    sessions: SessionFactory, make_fetcher: FetcherFactory, site: tuple[int, list[str]], target: str
) -> None:
    port, hits = site
    fetcher = await make_fetcher(is_allowed_address=loopback_counts_as_public)
    with pytest.raises(AdminError, match="refused"):
        await add(sessions, fetcher, f"http://public.test:{port}/redirect?to={target}")
    assert hits == ["/redirect"]  # the first hop happened; the private one never did


async def test_feeds_per_server_limit(
    sessions: SessionFactory, make_fetcher: FetcherFactory, site: tuple[int, list[str]]
) -> None:
    port, _ = site
    fetcher = await make_fetcher(is_allowed_address=loopback_counts_as_public)
    await add(sessions, fetcher, f"http://public.test:{port}/feed?a=1")
    await add(sessions, fetcher, f"http://public.test:{port}/feed?a=2")
    from bot.errors import LimitExceeded

    with pytest.raises(LimitExceeded, match="limit is 2"):
        await add(sessions, fetcher, f"http://public.test:{port}/feed?a=3")
    other_server = await add(sessions, fetcher, f"http://public.test:{port}/feed?a=3", guild=2)
    assert not other_server.already_added
