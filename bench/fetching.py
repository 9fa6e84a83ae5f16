"""Fetch throughput of FeedFetcher against a bare aiohttp loop (the ceiling).

    python -m bench.fetching                 # 1000 feeds
    python -m bench.fetching --feeds 5000
    python -m bench.fetching --quick         # 100 feeds, one round: a smoke run

A feed server runs in a separate process on 127.0.0.1 and serves N distinct RSS
documents (20 items, about 10 KB each) with an ETag, answering 304 to a matching
If-None-Match. Every feed has its own host name (feed<i>.bench.test, resolved to
127.0.0.1 by a static resolver), as with many publishers, so every fetch opens a
new connection; the bare loop also forces a new connection per request.

Phases, in this order, each with at most --concurrency requests in flight:
FeedFetcher all N (all 200), FeedFetcher all N again with the ETags (all 304),
then the same two with bare aiohttp. The 304 pass uses a fresh FeedFetcher so no
keep-alive connection from the first pass is reused. FeedFetcher runs its guarded path (SSRF
guard on, with 127.0.0.1 allowed for the benchmark only). The four phases run
--repeat times (default 3); per phase the median round is printed: feeds/second,
client CPU seconds, and the peak RSS of this (client) process sampled with psutil.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from ipaddress import IPv4Address
from multiprocessing.connection import Connection

import aiohttp
import psutil  # type: ignore[import-untyped]
from aiohttp import web

from bench.common import BENCH_DOMAIN, LoopbackResolver
from bot.fetch.fetcher import FeedFetcher
from bot.fetch.limits import FetchLimits
from bot.fetch.netguard import IPAddress, is_public_address

ITEMS_PER_FEED = 20


def feed_document(index: int) -> bytes:
    """A realistic RSS 2.0 document, distinct per feed."""
    items = "".join(
        f"""
    <item>
      <title>Feed {index} story {n}: council approves budget after long debate</title>
      <link>https://news{index}.example.com/2025/03/01/story-{n}.html</link>
      <guid isPermaLink="false">feed-{index}-story-{n}</guid>
      <pubDate>Sat, 01 Mar 2025 {n % 24:02d}:{(n * 7) % 60:02d}:00 GMT</pubDate>
      <description><![CDATA[<p>The city council voted on Friday to approve the
      budget for the coming year after a debate that ran late into the night. Story
      {n} of feed {index}, with enough text to look like a real summary.</p>]]></description>
    </item>"""
        for n in range(ITEMS_PER_FEED)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Bench News {index}</title>
    <link>https://news{index}.example.com/</link>
    <description>Benchmark feed number {index}</description>
    <ttl>15</ttl>{items}
  </channel>
</rss>
""".encode()


# -- the feed server (separate process) ----------------------------------------------


def _serve(feeds: int, ready: Connection) -> None:
    asyncio.run(_serve_async(feeds, ready))


async def _serve_async(feeds: int, ready: Connection) -> None:
    bodies = [feed_document(i) for i in range(feeds)]
    etags = [f'"feed-{i}-v1"' for i in range(feeds)]

    async def feed(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        if request.headers.get("If-None-Match") == etags[index]:
            return web.Response(status=304, headers={"ETag": etags[index]})
        return web.Response(
            body=bodies[index],
            headers={"ETag": etags[index]},
            content_type="application/rss+xml",
        )

    app = web.Application()
    app.router.add_get("/feed/{index}", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    ready.send((runner.addresses[0][1], len(bodies[0])))
    # Serve until the parent closes its end of the pipe.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _wait_for_close, ready)
    await runner.cleanup()


def _wait_for_close(conn: Connection) -> None:
    with contextlib.suppress(EOFError):
        conn.recv()


# -- client side ---------------------------------------------------------------------


def loopback_allowed(ip: IPAddress) -> bool:
    return ip == IPv4Address("127.0.0.1") or is_public_address(ip)


class PeakRss:
    """Samples this process's RSS from a thread, so a busy event loop cannot skip
    the samples."""

    def __init__(self, every: float = 0.005) -> None:
        self._process = psutil.Process()
        self._every = every
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self._process.memory_info().rss)
            self._stop.wait(self._every)

    def start(self) -> None:
        self._thread.start()

    def take(self) -> int:
        """The peak since the last take(), in bytes."""
        peak = max(self._peak, self._process.memory_info().rss)
        self._peak = 0
        return int(peak)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class PhaseResult:
    name: str
    feeds: int
    seconds: float
    cpu_seconds: float
    statuses: dict[int, int]
    peak_rss: int


async def run_phase(
    name: str,
    urls: Sequence[str],
    fetch_one: Callable[[int, str], Awaitable[int]],
    concurrency: int,
    rss: PeakRss,
) -> PhaseResult:
    """Fetch every URL with ``concurrency`` workers; count the statuses."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(urls)):
        queue.put_nowait(index)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            status = await fetch_one(index, urls[index])
            statuses[status] = statuses.get(status, 0) + 1

    process = psutil.Process()
    rss.take()
    cpu_before = sum(process.cpu_times()[:2])
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    return PhaseResult(name, len(urls), seconds, cpu, statuses, rss.take())


async def bench_fetcher(urls: Sequence[str], concurrency: int, rss: PeakRss) -> list[PhaseResult]:
    limits = FetchLimits(global_concurrency=concurrency)
    etags: list[str | None] = [None] * len(urls)

    def new_fetcher() -> FeedFetcher:
        return FeedFetcher(
            limits,
            allow_private=False,
            resolver=LoopbackResolver(),
            is_allowed_address=loopback_allowed,
        )

    async def fetch_fresh(fetcher: FeedFetcher, index: int, url: str) -> int:
        result = await fetcher.fetch(url)
        etags[index] = result.etag
        return result.status

    async def fetch_conditional(fetcher: FeedFetcher, index: int, url: str) -> int:
        return (await fetcher.fetch(url, etag=etags[index])).status

    async with new_fetcher() as fetcher:
        fresh = await run_phase("FeedFetcher, 200", urls, partial(fetch_fresh, fetcher), concurrency, rss)
    # A fresh fetcher, so no keep-alive connection from the first pass is reused (in
    # production the next poll comes minutes later, long after keep-alive expired).
    async with new_fetcher() as fetcher:
        revalidated = await run_phase("FeedFetcher, 304", urls, partial(fetch_conditional, fetcher), concurrency, rss)
    return [fresh, revalidated]


async def bench_bare(urls: Sequence[str], concurrency: int, rss: PeakRss) -> list[PhaseResult]:
    etags: list[str] = [""] * len(urls)
    connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), force_close=True, limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch_fresh(index: int, url: str) -> int:
            async with session.get(url) as response:
                await response.read()
                etags[index] = response.headers.get("ETag", "")
                return response.status

        async def fetch_conditional(index: int, url: str) -> int:
            async with session.get(url, headers={"If-None-Match": etags[index]}) as response:
                await response.read()
                return response.status

        fresh = await run_phase("bare aiohttp, 200", urls, fetch_fresh, concurrency, rss)
        revalidated = await run_phase("bare aiohttp, 304", urls, fetch_conditional, concurrency, rss)
    return [fresh, revalidated]


def median_by_phase(rounds: Sequence[Sequence[PhaseResult]]) -> list[PhaseResult]:
    """Per phase, the round with the median time (CPU and RSS from that same round)."""
    medians = []
    for phase_runs in zip(*rounds, strict=True):
        ordered = sorted(phase_runs, key=lambda r: r.seconds)
        medians.append(ordered[len(ordered) // 2])
    return medians


def print_table(results: Sequence[PhaseResult]) -> None:
    print(
        f"{'phase':<20} {'feeds':>6} {'seconds':>8} {'feeds/s':>8} "
        f"{'client CPU s':>12} {'statuses':<14} {'peak RSS MiB':>12}"
    )
    for r in results:
        statuses = ",".join(f"{code}x{count}" for code, count in sorted(r.statuses.items()))
        print(
            f"{r.name:<20} {r.feeds:>6} {r.seconds:>8.2f} {r.feeds / r.seconds:>8.0f} "
            f"{r.cpu_seconds:>12.2f} {statuses:<14} {r.peak_rss / 2**20:>12.1f}"
        )


async def run(feeds: int, concurrency: int, port: int, repeat: int) -> list[list[PhaseResult]]:
    urls = [f"http://feed{i}{BENCH_DOMAIN}:{port}/feed/{i}" for i in range(feeds)]
    rss = PeakRss()
    rss.start()
    rounds = []
    try:
        for _ in range(repeat):
            results = await bench_fetcher(urls, concurrency, rss)
            results += await bench_bare(urls, concurrency, rss)
            rounds.append(results)
    finally:
        rss.stop()
    return rounds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000, help="distinct feed URLs")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is shown")
    parser.add_argument("--quick", action="store_true", help="100 feeds, one round")
    args = parser.parse_args(argv)
    feeds = 100 if args.quick else args.feeds
    repeat = 1 if args.quick else args.repeat

    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    server = context.Process(target=_serve, args=(feeds, child_end), daemon=True)
    server.start()
    child_end.close()
    try:
        port, body_bytes = parent_end.recv()
        print(
            f"feeds={feeds} concurrency={args.concurrency} rounds={repeat} body={body_bytes} bytes "
            f"server pid={server.pid} client pid={os.getpid()} cpus={os.cpu_count()}"
        )
        rounds = asyncio.run(run(feeds, args.concurrency, port, repeat))
    finally:
        parent_end.close()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    print_table(median_by_phase(rounds))
    expected = {"FeedFetcher, 200": 200, "FeedFetcher, 304": 304}
    expected |= {"bare aiohttp, 200": 200, "bare aiohttp, 304": 304}
    wrong = sorted({r.name for results in rounds for r in results if r.statuses != {expected[r.name]: feeds}})
    if wrong:
        print(f"unexpected statuses in: {', '.join(wrong)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
