"""A real feed server on 127.0.0.1: corpus files, plus feeds a test edits as it goes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass
class FeedItem:
    title: str
    link: str
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    source: tuple[str, str] | None = None  # (publisher name, url) for search feeds


def rss_document(title: str, items: list[FeedItem]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://example.test/</link><description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published.astimezone(UTC), usegmt=True)}</pubDate>")
        if item.source:
            parts.append(f'<source url="{escape(item.source[1])}">{escape(item.source[0])}</source>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    last_modified: str = field(default_factory=lambda: format_datetime(datetime.now(UTC), usegmt=True))
    hits: int = 0
    hit_times: list[float] = field(default_factory=list)  # time.monotonic() of each request


class FeedServer:
    """Serves ``/shared/<path>`` from the corpus and ``/<name>`` from routes tests set."""

    def __init__(self, shared_feeds: Path | None = None) -> None:
        self.shared_feeds = shared_feeds
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.query_strings: list[tuple[str, str]] = []
        # While set to an Event that is not set, requests to routes wait for it (polls in flight).
        self.gate: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name.lstrip('/')}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/shared/{path:.*}", self._shared)
        app.router.add_get("/{name:.*}", self._feed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def set_feed(self, name: str, items: list[FeedItem], title: str = "Test feed") -> str:
        route = self.routes.setdefault(name, Route())
        body = rss_document(title, items)
        if body != route.body:
            route.body = body
            route.last_modified = format_datetime(datetime.now(UTC), usegmt=True)
        route.status, route.content_type = 200, "application/rss+xml"
        return self.url(name)

    def set_raw(self, name: str, body: bytes, status: int = 200, content_type: str = "text/html") -> str:
        self.routes[name] = Route(body=body, status=status, content_type=content_type)
        return self.url(name)

    def hits(self, name: str) -> int:
        route = self.routes.get(name)
        return route.hits if route else 0

    async def _shared(self, request: web.Request) -> web.StreamResponse:
        assert self.shared_feeds is not None
        path = (self.shared_feeds / request.match_info["path"]).resolve()
        if not path.is_relative_to(self.shared_feeds.resolve()) or not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), content_type="application/xml")

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((name, dict(request.headers)))
        self.query_strings.append((name, request.rel_url.raw_query_string))
        route = self.routes.get(name)
        if route is None:
            raise web.HTTPNotFound()
        route.hits += 1
        route.hit_times.append(time.monotonic())
        if self.gate is not None:
            await self.gate.wait()
        if route.status != 200:
            return web.Response(status=route.status, body=route.body, content_type=route.content_type)
        etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in request.headers and request.headers.get("If-Modified-Since") == route.last_modified
        ):
            return web.Response(status=304, headers={"ETag": etag, "Last-Modified": route.last_modified})
        return web.Response(
            body=route.body,
            content_type=route.content_type,
            headers={"ETag": etag, "Last-Modified": route.last_modified},
        )
