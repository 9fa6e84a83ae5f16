"""The health/metrics endpoint: a real server on 127.0.0.1 and a real HTTP client."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import psutil
import pytest

from bot.health import HealthChecks, HealthServer
from bot.metrics import Metrics

# One sample line of the text exposition format: name, optional labels, a number.
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
_SAMPLE = re.compile(
    rf"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{{{_LABEL}(?:,{_LABEL})*\}})? "
    r"(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[-+]Inf)"
)
_TYPE = re.compile(r"# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)")


async def passing() -> bool:
    return True


async def failing() -> bool:
    return False


async def broken() -> bool:
    raise ConnectionError("database is gone")


def all_passing() -> HealthChecks:
    return HealthChecks(gateway=passing, scheduler=passing, database=passing)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def started(checks: HealthChecks, metrics: Metrics | None = None, check_timeout: float = 5.0) -> HealthServer:
    render = (Metrics() if metrics is None else metrics).render
    server = HealthServer("127.0.0.1", 0, checks, render, check_timeout=check_timeout)
    await server.start()
    return server


async def get(client: aiohttp.ClientSession, server: HealthServer, path: str) -> tuple[int, str, str]:
    """Status, Content-Type and body of a GET to the running server."""
    async with client.get(f"http://127.0.0.1:{server.port}{path}") as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_all_checks_pass(client: aiohttp.ClientSession) -> None:
    server = await started(all_passing())
    try:
        async with client.get(f"http://127.0.0.1:{server.port}/healthz") as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert await response.json() == {
                "status": "ok",
                "checks": {"gateway": True, "scheduler": True, "database": True},
            }
    finally:
        await server.stop()


@pytest.mark.parametrize("failing_check", ["gateway", "scheduler", "database"])
async def test_a_failing_check_gives_503_naming_it(client: aiohttp.ClientSession, failing_check: str) -> None:
    checks = {"gateway": passing, "scheduler": passing, "database": passing}
    checks[failing_check] = failing
    server = await started(HealthChecks(**checks))
    try:
        async with client.get(f"http://127.0.0.1:{server.port}/healthz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["status"] == "failing"
        assert body["failing"] == [failing_check]
        assert body["checks"] == {name: name != failing_check for name in checks}
    finally:
        await server.stop()


async def test_raising_and_hanging_checks_fail_and_are_logged(
    client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    never = asyncio.Event()

    async def hangs() -> bool:
        await never.wait()
        return True

    server = await started(HealthChecks(gateway=passing, scheduler=hangs, database=broken), check_timeout=0.2)
    try:
        with caplog.at_level(logging.WARNING, logger="storywatch.health"):
            async with client.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 503
                body = await response.json()
    finally:
        await server.stop()
    assert body["failing"] == ["scheduler", "database"]
    assert "database is gone" not in str(body)  # error details stay in the log
    logged = caplog.text
    assert "health check scheduler timed out" in logged
    assert "health check database raised" in logged
    assert "database is gone" in logged


async def test_checks_run_concurrently(client: aiohttp.ClientSession) -> None:
    # The gateway check can only finish once the database check has started: run one
    # after the other, the gateway check would time out.
    database_started = asyncio.Event()

    async def gateway() -> bool:
        await database_started.wait()
        return True

    async def database() -> bool:
        database_started.set()
        return True

    server = await started(HealthChecks(gateway=gateway, scheduler=passing, database=database), check_timeout=5.0)
    try:
        status, _, _ = await get(client, server, "/healthz")
    finally:
        await server.stop()
    assert status == 200


async def test_metrics_are_served_in_prometheus_text_format(client: aiohttp.ClientSession) -> None:
    metrics = Metrics()
    metrics.inc("storywatch_polls_total", 3, outcome="ok")
    metrics.inc("storywatch_polls_total", outcome='weird "quoted"\nvalue\\')
    metrics.set("storywatch_feeds", 42)
    metrics.set("storywatch_queue_seconds", 0.25, queue="outbox")
    server = await started(all_passing(), metrics)
    try:
        status, content_type, text = await get(client, server, "/metrics")
        metrics.inc("storywatch_polls_total", 2, outcome="ok")
        _, _, later = await get(client, server, "/metrics")
    finally:
        await server.stop()

    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert _TYPE.fullmatch(line), line
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"not a sample line: {line!r}"
        samples[match["name"] + (match["labels"] or "")] = float(match["value"])
    assert samples == {
        'storywatch_polls_total{outcome="ok"}': 3.0,
        'storywatch_polls_total{outcome="weird \\"quoted\\"\\nvalue\\\\"}': 1.0,
        "storywatch_feeds": 42.0,
        'storywatch_queue_seconds{queue="outbox"}': 0.25,
    }
    # Rendered per request, not cached at start.
    assert 'storywatch_polls_total{outcome="ok"} 5' in later


async def test_only_the_two_endpoints_exist(client: aiohttp.ClientSession) -> None:
    server = await started(all_passing())
    try:
        status, _, _ = await get(client, server, "/")
        assert status == 404
        async with client.post(f"http://127.0.0.1:{server.port}/healthz") as response:
            assert response.status == 405
    finally:
        await server.stop()


async def test_listens_on_the_given_host_only_and_stops_listening() -> None:
    server = await started(all_passing())
    port = server.port
    try:
        listening = [
            c.laddr.ip
            for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        ]
        assert listening == ["127.0.0.1"]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        await server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


async def test_lifecycle_errors_and_restart(client: aiohttp.ClientSession) -> None:
    server = HealthServer("127.0.0.1", 0, all_passing(), Metrics().render)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    await server.stop()  # stopping a server that never started is harmless
    await server.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await server.start()
    finally:
        await server.stop()
    await server.start()  # built once, can be started again
    try:
        status, _, _ = await get(client, server, "/healthz")
        assert status == 200
    finally:
        await server.stop()


async def test_a_port_in_use_is_reported_and_leaves_nothing_running() -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen(1)
        taken = occupant.getsockname()[1]
        server = HealthServer("127.0.0.1", taken, all_passing(), Metrics().render)
        with pytest.raises(OSError):
            await server.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    await server.stop()
