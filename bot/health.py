"""The optional health and metrics endpoint, for a supervisor or a Prometheus scraper.

``GET /healthz`` runs the checks concurrently, each under a timeout, and answers
200 when all pass or 503 naming the ones that failed (a check that raises or hangs
fails). ``GET /metrics`` serves the Prometheus text exposition format. It binds to
127.0.0.1 unless told otherwise: nothing here is meant for the open internet.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("storywatch.health")

Check = Callable[[], Awaitable[bool]]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_CHECK_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class HealthChecks:
    gateway: Check  # connected to the Discord gateway
    scheduler: Check  # the poll scheduler is running
    database: Check  # the database answers a trivial query

    def named(self) -> dict[str, Check]:
        return {"gateway": self.gateway, "scheduler": self.scheduler, "database": self.database}


async def run_checks(checks: HealthChecks, seconds_each: float) -> dict[str, bool]:
    """Each check's result; an exception or a timeout counts as a failure."""
    named = checks.named()
    results = await asyncio.gather(*(_run_one(name, check, seconds_each) for name, check in named.items()))
    return dict(zip(named, results, strict=True))


async def _run_one(name: str, check: Check, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return bool(await check())
    except TimeoutError:
        log.warning("health check %s timed out after %.1f s", name, seconds)
    except Exception:
        log.exception("health check %s raised", name)
    return False


class HealthServer:
    """Built once; ``start`` binds (port 0 picks a free port), ``stop`` releases it."""

    def __init__(
        self,
        host: str,
        port: int,
        checks: HealthChecks,
        metrics_render: Callable[[], str],
        *,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._checks = checks
        self._metrics_render = metrics_render
        self._check_timeout = check_timeout
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._app = web.Application()
        self._app.router.add_get("/healthz", self._healthz)
        self._app.router.add_get("/metrics", self._metrics)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the health server is not running")
        return self._port

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the health server is already running")
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])
        log.info("health endpoint listening on %s:%d", self._host, self._port)

    async def stop(self) -> None:
        runner, self._runner, self._port = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        results = await run_checks(self._checks, self._check_timeout)
        failing = [name for name, ok in results.items() if not ok]
        body: dict[str, object] = {"status": "ok" if not failing else "failing", "checks": results}
        if failing:
            body["failing"] = failing
        return web.Response(
            status=503 if failing else 200,
            text=json.dumps(body),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics_render().encode("utf-8"),
            headers={"Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store"},
        )
