"""The baselines the poll pipeline is compared with, run in the same process and pool.

- ``bare_fetch``: a plain aiohttp loop at the same concurrency, a new connection per
  request (``force_close``): what fetching alone costs, the pipeline's ceiling.
- ``pool_parse``: a function over every document in the pipeline's own process pool.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.common import LoopbackResolver


@dataclass
class BareFetch:
    statuses: Counter[int]
    bodies: list[bytes]
    errors: int


async def bare_fetch(
    urls: Sequence[str],
    *,
    concurrency: int,
    etags: Sequence[str] | None = None,
    keep_bodies: bool = False,
) -> BareFetch:
    """GET every URL (conditionally when ``etags`` are given), ``concurrency`` at a time."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True, resolver=LoopbackResolver())
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()
    bodies: list[bytes] = [b""] * len(urls) if keep_bodies else []
    errors = 0
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def one(index: int) -> None:
            nonlocal errors
            headers = {"If-None-Match": etags[index]} if etags is not None else {}
            async with gate:
                try:
                    async with session.get(urls[index], headers=headers) as response:
                        body = await response.read()
                        statuses[response.status] += 1
                        if keep_bodies:
                            bodies[index] = body
                except aiohttp.ClientError:
                    errors += 1

        await asyncio.gather(*(one(i) for i in range(len(urls))))
    return BareFetch(statuses, bodies, errors)


async def pool_parse(pool: Executor, job: Callable[[bytes], Any], bodies: Sequence[bytes]) -> list[Any]:
    """Run ``job`` on every body in ``pool`` (all queued at once, as a poll cycle would)."""
    loop = asyncio.get_running_loop()
    return list(await asyncio.gather(*(loop.run_in_executor(pool, job, b) for b in bodies)))
