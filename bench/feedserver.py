"""The benchmark feed server: a separate process on 127.0.0.1, steered over HTTP.

``GET /feed/{i}`` serves feed ``i`` at its current version with an ETag and a
Last-Modified (a new version is 50 new items, or with ``rolling`` one new item on
top); with validators on, a matching If-None-Match gets 304. Control routes
(same port, loopback only):

- ``POST /_ctl/mode`` JSON ``{"version": v, "validators": bool, "rolling": bool}``:
  every feed to ``v`` ("rolling" optional: switches between the two kinds of document)
- ``POST /_ctl/feed`` JSON ``{"feed": i, "version": v}``: one feed; answers the wall
  time of the change (what end-to-end latency is measured from)
- ``GET /_ctl/hits``: requests per feed since the last reset, and counts per status
- ``POST /_ctl/reset``: zero the counters
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from typing import Any, Self

import aiohttp
from aiohttp import web

from bench.common import load_headlines
from bench.feeddocs import feed_document, rolling_document, version_etag


@dataclass
class _State:
    feeds: int
    base: datetime
    rolling: bool  # a new version adds one item (rolling_document), else replaces all 50
    version: int = 1
    validators: bool = True
    versions: dict[int, int] = field(default_factory=dict)  # per-feed overrides
    cache: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # feed -> current body
    hits: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def version_of(self, feed: int) -> int:
        return self.versions.get(feed, self.version)


def _serve(feeds: int, base_iso: str, rolling: bool, ready: Connection) -> None:
    asyncio.run(_serve_async(feeds, datetime.fromisoformat(base_iso), rolling, ready))


async def _serve_async(feeds: int, base: datetime, rolling: bool, ready: Connection) -> None:
    headlines = load_headlines()
    state = _State(feeds=feeds, base=base, rolling=rolling, hits=[0] * feeds)
    last_modified = format_datetime(base, usegmt=True)

    def body_of(feed: int, version: int) -> bytes:
        cached = state.cache.get(feed)
        if cached is not None and cached[0] == version:
            return cached[1]
        document = rolling_document if state.rolling else feed_document
        body = document(headlines, feed, version, base)
        state.cache[feed] = (version, body)
        return body

    async def serve_feed(request: web.Request) -> web.Response:
        feed = int(request.match_info["index"])
        if not 0 <= feed < feeds:
            raise web.HTTPNotFound()
        state.hits[feed] += 1
        version = state.version_of(feed)
        etag = version_etag(feed, version)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if state.validators and request.headers.get("If-None-Match") == etag:
            state.statuses[304] += 1
            return web.Response(status=304, headers=headers)
        state.statuses[200] += 1
        return web.Response(body=body_of(feed, version), headers=headers, content_type="application/rss+xml")

    async def set_mode(request: web.Request) -> web.Response:
        data = await request.json()
        state.version = int(data["version"])
        state.validators = bool(data["validators"])
        if "rolling" in data and bool(data["rolling"]) != state.rolling:
            state.rolling = bool(data["rolling"])
            state.cache.clear()  # same version numbers, other documents
        state.versions.clear()
        return web.json_response({"ok": True})

    async def set_feed(request: web.Request) -> web.Response:
        data = await request.json()
        state.versions[int(data["feed"])] = int(data["version"])
        return web.json_response({"changed_at": time.time()})

    async def hits(_request: web.Request) -> web.Response:
        return web.json_response({"hits": state.hits, "statuses": dict(state.statuses)})

    async def reset(_request: web.Request) -> web.Response:
        state.hits = [0] * feeds
        state.statuses.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/feed/{index}", serve_feed)
    app.router.add_post("/_ctl/mode", set_mode)
    app.router.add_post("/_ctl/feed", set_feed)
    app.router.add_get("/_ctl/hits", hits)
    app.router.add_post("/_ctl/reset", reset)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    ready.send(runner.addresses[0][1])
    # Serve until the parent closes its end of the pipe (or dies).
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _wait_for_close, ready)
    await runner.cleanup()


def _wait_for_close(conn: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        conn.recv()


@dataclass(frozen=True)
class HitCounts:
    per_feed: list[int]
    statuses: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.per_feed)

    def fetched_exactly_once(self) -> bool:
        return all(count == 1 for count in self.per_feed)

    def fetched_more_than_once(self) -> int:
        return sum(1 for count in self.per_feed if count > 1)


class FeedServerProcess:
    """Starts the server process and talks to its control routes."""

    def __init__(self, feeds: int, *, rolling: bool = False, base: datetime | None = None) -> None:
        self.feeds = feeds
        self.rolling = rolling
        # Items are dated up to a few hours after ``base``: a day ago keeps them in the
        # past and inside the alert age limit (48 h).
        self.base = base or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=24)
        self.port = 0
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        if self._process is None or self._process.pid is None:
            raise RuntimeError("the feed server is not running")
        return self._process.pid

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(self.feeds, self.base.isoformat(), self.rolling, child_end),
            daemon=True,
        )
        process.start()
        child_end.close()
        if not parent_end.poll(60):
            process.terminate()
            raise RuntimeError("the feed server did not start within 60 s")
        self.port = int(parent_end.recv())
        self._process, self._pipe = process, parent_end

    def stop(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check_alive(self) -> None:
        """Raise if the server process is gone (a dead server would look like failing feeds)."""
        if self._process is None or not self._process.is_alive():
            code = None if self._process is None else self._process.exitcode
            raise RuntimeError(f"the feed server process is not running (exit code {code})")

    def _control(self) -> aiohttp.ClientSession:
        self.check_alive()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{self.port}", trust_env=False)
        return self._session

    async def close_control(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def set_mode(self, *, version: int, validators: bool, rolling: bool | None = None) -> None:
        """Every feed to ``version``; ``rolling`` switches the kind of document served."""
        body: dict[str, Any] = {"version": version, "validators": validators}
        if rolling is not None:
            body["rolling"] = rolling
        async with self._control().post("/_ctl/mode", json=body) as response:
            response.raise_for_status()

    async def change_feed(self, feed: int, version: int) -> float:
        """Move one feed to ``version``; returns the server's wall time of the change."""
        async with self._control().post("/_ctl/feed", json={"feed": feed, "version": version}) as response:
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
            return float(data["changed_at"])

    async def hits(self) -> HitCounts:
        async with self._control().get("/_ctl/hits") as response:
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
        return HitCounts(
            per_feed=[int(n) for n in data["hits"]],
            statuses={int(k): int(v) for k, v in data["statuses"].items()},
        )

    async def reset(self) -> None:
        async with self._control().post("/_ctl/reset") as response:
            response.raise_for_status()
