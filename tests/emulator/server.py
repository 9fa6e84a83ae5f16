"""The aiohttp server: gateway websocket at "/", REST under /api/v10, files under /attachments.

Every REST request passes, in order: outage switch, route match, token check, injected
failures, injected delays, global and per-route rate limits, the handler. The answer
always carries Discord's rate-limit headers and a ``Via`` header (discord.py treats a
429 without ``Via`` as a Cloudflare ban) and is recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import BodyPartReader, web

from tests.emulator import api_error as err
from tests.emulator import rest_commands, rest_core, rest_interactions, rest_messages
from tests.emulator.api_error import ApiError
from tests.emulator.core import API_PREFIX, EmulatorCore
from tests.emulator.faults import FailRule, default_error_body
from tests.emulator.messages import UploadedFile
from tests.emulator.ratelimit import rate_limited_body
from tests.emulator.recording import RecordedFile, RecordedRequest
from tests.emulator.routing import ApiRequest, ApiResponse, Route, RouteTable

JSON_TYPE = "application/json"  # exactly; discord.py compares the header verbatim
_BASE_HEADERS = {"Via": "1.1 google"}


def build_routes(core: EmulatorCore) -> RouteTable:
    table = RouteTable(core.config.default_rate)
    rest_core.register(table, core)
    rest_commands.register(table, core)
    rest_messages.register(table, core)
    rest_interactions.register(table, core)
    return table


class EmulatorServer:
    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        self.routes = build_routes(core)
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._entry)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        await self.core.hub.disconnect_all(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.core.hub.handle(request)
        if path.startswith("/attachments/"):
            return self._attachment(path)
        if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
            return await self._api(request, path[len(API_PREFIX) :] or "/")
        return _json(404, {"message": "404: Not Found", "code": 0}, {})

    def _attachment(self, path: str) -> web.StreamResponse:
        parts = path.split("/")
        stored = self.core.state.files.get(int(parts[2])) if parts[2].isdigit() else None
        if stored is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _api(self, request: web.Request, path: str) -> web.StreamResponse:
        core = self.core
        method = request.method
        body_json, files, parse_error = await _read_body(request)
        route, params, path_known = self.routes.match(method, path)
        status, body, headers = await self._answer(
            request, method, path, route, params, path_known, body_json, files, parse_error
        )
        recorded = RecordedRequest(
            method=method,
            path=path,
            query=dict(request.query),
            json=body_json,
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            status=status,
            time=time.monotonic(),
            files=[RecordedFile(f.field, f.filename, f.content_type, len(f.data)) for f in files],
            route=route.template if route is not None else None,
            response=body,
            response_headers={**_BASE_HEADERS, **headers},
        )
        if core.config.record_requests:
            core.requests.append(recorded)
        if route is None:
            core.unknown_requests.append(recorded)
        core.stats.requests += 1
        core.stats.status_counts[status] += 1
        core.notifier.notify()
        return _json(status, body, headers)

    async def _answer(
        self,
        request: web.Request,
        method: str,
        path: str,
        route: Route | None,
        params: dict[str, str],
        path_known: bool,
        body_json: Any,
        files: list[UploadedFile],
        parse_error: ApiError | None,
    ) -> tuple[int, Any, dict[str, str]]:
        core = self.core
        if core.faults.outage:
            return 503, {"message": "503: Service Unavailable", "code": 0}, {}
        if route is None:
            if path_known:
                return 405, {"message": "405: Method Not Allowed", "code": 0}, {}
            return 404, {"message": "404: Not Found", "code": 0}, {}
        if route.auth and request.headers.get("Authorization") != f"Bot {core.config.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        major = route.major_key(params)
        failure = core.faults.take_failure(method, path)
        if failure is not None:
            core.stats.injected_failures += 1
            return self._injected(failure, route, major)
        delay = core.faults.take_delay(method, path)
        if delay is not None:
            await asyncio.sleep(delay.seconds)
            if not delay.apply:
                return 504, default_error_body(504), {}
        decision = core.limiter.check(route.bucket, major, counts_globally=route.global_limited)
        if not decision.allowed:
            core.stats.rate_limited += 1
            core.stats.rate_limited_global += int(decision.is_global)
            body = rate_limited_body(decision.retry_after, is_global=decision.is_global)
            return 429, body, decision.headers
        if parse_error is not None:
            return parse_error.status, parse_error.body(), decision.headers
        request_obj = ApiRequest(method, path, params, request.query, body_json, files, request.headers)
        try:
            response: ApiResponse = await route.handler(request_obj)
        except ApiError as exc:
            return exc.status, exc.body(), decision.headers
        headers = {**decision.headers, **response.headers}
        return response.status, response.body, headers

    def _injected(self, failure: FailRule, route: Route, major: str) -> tuple[int, Any, dict[str, str]]:
        headers = self.core.limiter.peek_headers(route.bucket, major)
        if failure.status == 429:
            retry_after = 1.0 if failure.retry_after is None else failure.retry_after
            body = failure.body or rate_limited_body(retry_after, is_global=failure.is_global)
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
            headers["X-RateLimit-Scope"] = "global" if failure.is_global else "user"
            if failure.is_global:
                headers["X-RateLimit-Global"] = "true"
        else:
            body = failure.body if failure.body is not None else default_error_body(failure.status)
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
        headers.update(failure.headers)
        return failure.status, body, headers


async def _read_body(
    request: web.Request,
) -> tuple[Any, list[UploadedFile], ApiError | None]:
    if not request.body_exists:
        return None, [], None
    content_type = request.content_type
    invalid = ApiError(400, err.INVALID_JSON, "The request body contains invalid JSON.")
    if content_type.startswith("multipart/"):
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = await part.read(decode=False)
            if part.name == "payload_json":
                try:
                    payload = json.loads(bytes(data))
                except ValueError:
                    return None, files, invalid
            elif part.filename is not None:
                kind = part.headers.get("Content-Type", "application/octet-stream")
                files.append(UploadedFile(part.name, part.filename, kind, bytes(data)))
        return payload, files, None
    raw = await request.read()
    if not raw:
        return None, [], None
    try:
        return json.loads(raw), [], None
    except ValueError:
        return None, [], invalid


def _json(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    merged = {**_BASE_HEADERS, **headers}
    if status == 204 or body is None:
        return web.Response(status=204 if body is None and status < 300 else status, headers=merged)
    merged["Content-Type"] = JSON_TYPE
    return web.Response(status=status, body=json.dumps(body).encode(), headers=merged)
