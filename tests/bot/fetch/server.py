"""A misbehaving HTTP server for FeedFetcher tests, run on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web

FEED_BODY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Test</title>'
    b"<item><title>One</title><link>https://example.org/1</link></item>"
    b"</channel></rss>"
)
FEED_ETAG = '"v1"'
FEED_LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
BIG_BODY_BYTES = 2 * 1024 * 1024 + 1
SLOW_SECONDS = 0.3
SLOW_REDIRECT_SECONDS = 1.0
ZEROS_PER_BOMB_BLOCK = 1024 * 1024
BOMB_BLOCKS = 100_000  # ~100 MB on the wire, ~100 GB once inflated


@dataclass
class ServerState:
    """What the server saw, for tests to assert on."""

    request_headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    total_in_flight: int = 0
    max_total_in_flight: int = 0
    bomb_bytes_sent: int = 0
    bomb_bytes_total: int = 0
    drip_bytes_sent: int = 0


@dataclass(frozen=True)
class MisbehavingServer:
    port: int
    state: ServerState

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _gzip_bomb_parts() -> tuple[bytes, bytes]:
    """A gzip header plus a first deflate block, and a block that can be repeated.

    After Z_FULL_FLUSH the compressor forgets its history, so compressing the same
    megabyte of zeros again yields the same self-contained, byte-aligned block.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(ZEROS_PER_BOMB_BLOCK)
    head = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    return head, block


def build_app(state: ServerState) -> web.Application:
    bomb_head, bomb_block = _gzip_bomb_parts()
    state.bomb_bytes_total = len(bomb_head) + len(bomb_block) * BOMB_BLOCKS

    async def feed(request: web.Request) -> web.Response:
        headers = {"ETag": FEED_ETAG, "Last-Modified": FEED_LAST_MODIFIED}
        if request.headers.get("If-None-Match") == FEED_ETAG:
            return web.Response(status=304, headers=headers)
        return web.Response(body=FEED_BODY, headers=headers, content_type="application/rss+xml")

    async def etag_only(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"e1"':
            return web.Response(status=304)
        return web.Response(body=FEED_BODY, headers={"ETag": '"e1"'})

    async def lastmod_only(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == FEED_LAST_MODIFIED:
            return web.Response(status=304)
        return web.Response(body=FEED_BODY, headers={"Last-Modified": FEED_LAST_MODIFIED})

    async def cache(request: web.Request) -> web.Response:
        return web.Response(body=FEED_BODY, headers={"Cache-Control": "public, max-age=600"})

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for _ in range(60):
                await response.write(b"<")
                state.drip_bytes_sent += 1
                for _ in range(10):  # one byte a second, but notice a hang-up quickly
                    await asyncio.sleep(0.1)
                    if request.transport is None or request.transport.is_closing():
                        return response
        except ConnectionError:
            pass  # the client gave up, as it should
        return response

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=bytes(BIG_BODY_BYTES))

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(3 * 16):
                await response.write(bytes(64 * 1024))
        except ConnectionError:
            pass
        return response

    async def gzip_bomb(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Encoding": "gzip"})
        await response.prepare(request)
        batch = bomb_block * 64
        try:
            await response.write(bomb_head)
            state.bomb_bytes_sent += len(bomb_head)
            for _ in range(BOMB_BLOCKS // 64):
                await response.write(batch)
                state.bomb_bytes_sent += len(batch)
        except ConnectionError:
            pass  # the client hung up early, which is the point
        return response

    def redirect(location: str, status: int = 302) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    async def loop_a(request: web.Request) -> web.Response:
        return redirect("/loop-b")

    async def loop_b(request: web.Request) -> web.Response:
        return redirect("/loop-a")

    async def chain(request: web.Request) -> web.Response:
        remaining = int(request.match_info["n"])
        if remaining == 0:
            return web.Response(body=FEED_BODY)
        return redirect(f"/chain/{remaining - 1}")

    async def hops(request: web.Request) -> web.Response:
        # /hops/301-308 answers 301 to /hops/308, which answers 308 to /hops/, the feed.
        codes = [c for c in request.match_info["codes"].split("-") if c]
        if not codes:
            return web.Response(body=FEED_BODY)
        return redirect("/hops/" + "-".join(codes[1:]), status=int(codes[0]))

    async def redirect_to(request: web.Request) -> web.Response:
        return redirect(request.query["target"])

    async def slow_redirect_to_drip(request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_REDIRECT_SECONDS)
        return redirect("/drip")

    async def relative(request: web.Request) -> web.Response:
        return redirect("../feed")

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        headers = {"Retry-After": "120"} if code == 429 else {}
        if code == 503:
            headers = {"Retry-After": "7"}
        return web.Response(status=code, headers=headers, reason="<@everyone> custom reason")

    async def retry_date(request: web.Request) -> web.Response:
        when = datetime.now(UTC) + timedelta(seconds=120)
        return web.Response(status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})

    async def echo_headers(request: web.Request) -> web.Response:
        state.request_headers.append(dict(request.headers))
        return web.Response(body=json.dumps(dict(request.headers)).encode())

    async def slow(request: web.Request) -> web.Response:
        host = request.headers.get("Host", "").split(":")[0]
        state.in_flight[host] = state.in_flight.get(host, 0) + 1
        state.total_in_flight += 1
        state.max_in_flight[host] = max(state.max_in_flight.get(host, 0), state.in_flight[host])
        state.max_total_in_flight = max(state.max_total_in_flight, state.total_in_flight)
        try:
            await asyncio.sleep(SLOW_SECONDS)
        finally:
            state.in_flight[host] -= 1
            state.total_in_flight -= 1
        return web.Response(body=FEED_BODY)

    async def hangup(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response(body=b"never sent")

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/etag-only", etag_only)
    app.router.add_get("/lastmod-only", lastmod_only)
    app.router.add_get("/cache", cache)
    app.router.add_get("/drip", drip)
    app.router.add_get("/big", big)
    app.router.add_get("/big-chunked", big_chunked)
    app.router.add_get("/gzip-bomb", gzip_bomb)
    app.router.add_get("/loop-a", loop_a)
    app.router.add_get("/loop-b", loop_b)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/hops/{codes:.*}", hops)
    app.router.add_get("/redirect-to", redirect_to)
    app.router.add_get("/slow-redirect-to-drip", slow_redirect_to_drip)
    app.router.add_get("/dir/relative", relative)
    app.router.add_get("/no-location", no_location)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/retry-date", retry_date)
    app.router.add_get("/headers", echo_headers)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hangup", hangup)
    return app


@asynccontextmanager
async def running_server() -> AsyncIterator[MisbehavingServer]:
    state = ServerState()
    runner = web.AppRunner(build_app(state), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield MisbehavingServer(port=runner.addresses[0][1], state=state)
    finally:
        await runner.cleanup()
