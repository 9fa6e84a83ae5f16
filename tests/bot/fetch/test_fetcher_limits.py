"""FeedFetcher's bounds: timeouts, body size (gzip bombs included) and politeness."""

from __future__ import annotations

import asyncio
import re
import resource
import time

import pytest

from bot.errors import BodyTooLarge, FetchTimeout
from bot.fetch.limits import FetchLimits
from bot.fetch.politeness import HostSlots
from tests.bot.fetch.helpers import FetcherFactory
from tests.bot.fetch.server import (
    BIG_BODY_BYTES,
    SLOW_REDIRECT_SECONDS,
    MisbehavingServer,
)

ONE_MIB = 1024 * 1024


async def test_dripping_server_is_cut_off_at_the_total_timeout(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(FetchLimits(total_timeout=1.5))
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=re.escape("no complete response within 1.5s")):
        await fetcher.fetch(server.url("/drip"), trusted=True)
    took = time.monotonic() - started
    assert 1.4 <= took < 4.0  # generous: a loaded CI machine schedules late
    assert 1 <= server.state.drip_bytes_sent <= 3


async def test_total_timeout_spans_redirect_hops(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    # The first hop takes 1.0 s, then the drip: one budget for the whole fetch ends
    # at 1.5 s; a fresh budget per hop would only end at 2.5 s.
    fetcher = await make_fetcher(FetchLimits(total_timeout=1.5))
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        await fetcher.fetch(server.url("/slow-redirect-to-drip"), trusted=True)
    assert time.monotonic() - started < 1.5 + SLOW_REDIRECT_SECONDS / 2


async def test_connect_timeout(make_fetcher: FetcherFactory, unresponsive_port: int) -> None:
    fetcher = await make_fetcher(FetchLimits(connect_timeout=0.5, total_timeout=10))
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"connecting to 127\.0\.0\.1 took over 0.5s"):
        await fetcher.fetch(f"http://127.0.0.1:{unresponsive_port}/feed", trusted=True)
    assert time.monotonic() - started < 3.0


async def test_announced_oversized_body_is_refused_up_front(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(FetchLimits(max_body_bytes=ONE_MIB))
    with pytest.raises(BodyTooLarge, match=f"announced {BIG_BODY_BYTES} bytes"):
        await fetcher.fetch(server.url("/big"), trusted=True)


async def test_body_at_the_limit_is_accepted(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher(FetchLimits(max_body_bytes=BIG_BODY_BYTES))
    result = await fetcher.fetch(server.url("/big"), trusted=True)
    assert result.body is not None
    assert len(result.body) == BIG_BODY_BYTES


async def test_unannounced_oversized_body_is_stopped_while_streaming(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(FetchLimits(max_body_bytes=ONE_MIB))
    with pytest.raises(BodyTooLarge, match="over the 1048576-byte limit"):
        await fetcher.fetch(server.url("/big-chunked"), trusted=True)


async def test_gzip_bomb_is_stopped_early_with_bounded_memory(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    # A short total timeout bounds the damage if the size check ever breaks: the test
    # then fails with FetchTimeout after 3 s instead of inflating 100 GB.
    fetcher = await make_fetcher(FetchLimits(max_body_bytes=ONE_MIB, total_timeout=3))
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BodyTooLarge, match="over the 1048576-byte limit"):
        await fetcher.fetch(server.url("/gzip-bomb"), trusted=True)
    await asyncio.sleep(0.2)  # let the server notice the hang-up
    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    # The whole bomb is ~100 MB compressed (~100 GB inflated); the client must hang
    # up after ~1 MiB inflated, so the server could only fill the socket buffers.
    assert server.state.bomb_bytes_total > 90 * ONE_MIB
    assert server.state.bomb_bytes_sent < 20 * ONE_MIB
    assert peak_growth_mib < 64


async def test_per_host_concurrency_is_limited(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher(FetchLimits(per_host_concurrency=2, global_concurrency=50))
    url = server.url("/slow", host="hosta.test")
    results = await asyncio.gather(*(fetcher.fetch(url, trusted=True) for _ in range(6)))
    assert [r.status for r in results] == [200] * 6
    assert server.state.max_in_flight == {"hosta.test": 2}
    assert fetcher.tracked_hosts == 0  # idle hosts leave no semaphore behind


async def test_hosts_do_not_share_a_slot(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher(FetchLimits(per_host_concurrency=1, global_concurrency=50))
    urls = [server.url("/slow", host=h) for h in ("hosta.test", "hostb.test", "hostc.test")] * 2
    await asyncio.gather(*(fetcher.fetch(url, trusted=True) for url in urls))
    assert server.state.max_in_flight == {"hosta.test": 1, "hostb.test": 1, "hostc.test": 1}
    assert server.state.max_total_in_flight == 3  # the three hosts ran side by side


async def test_global_concurrency_is_limited(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher(FetchLimits(per_host_concurrency=5, global_concurrency=2))
    urls = [server.url("/slow", host=h) for h in ("hosta.test", "hostb.test", "hostc.test")] * 2
    await asyncio.gather(*(fetcher.fetch(url, trusted=True) for url in urls))
    assert server.state.max_total_in_flight == 2


async def test_host_slots_forget_hosts_when_idle_even_after_errors() -> None:
    slots = HostSlots(per_host=1)

    async def fail_while_holding() -> None:
        async with slots.hold("Example.com"):
            assert len(slots) == 1
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await fail_while_holding()
    assert len(slots) == 0

    order: list[str] = []

    async def hold(name: str) -> None:
        async with slots.hold("example.com"):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(hold("a"), hold("b"))
    assert order == ["a in", "a out", "b in", "b out"]
    assert len(slots) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"connect_timeout": 0},
        {"total_timeout": -1},
        {"max_body_bytes": 0},
        {"max_redirects": -1},
        {"per_host_concurrency": 0},
        {"global_concurrency": 0},
    ],
)
def test_limits_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FetchLimits(**bad)  # type: ignore[arg-type]


def test_default_limits_match_the_spec() -> None:
    limits = FetchLimits()
    assert (limits.connect_timeout, limits.total_timeout) == (30.0, 30.0)
    assert limits.max_body_bytes == 10 * ONE_MIB
    assert (limits.max_redirects, limits.per_host_concurrency, limits.global_concurrency) == (
        5,
        2,
        50,
    )
    assert limits.user_agent == "Storywatch/0.1 (+https://github.com/storywatch/storywatch)"
