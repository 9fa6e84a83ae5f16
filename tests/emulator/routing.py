"""Route table for the REST API: templates like Discord's docs, each with its rate-limit bucket."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.api_error import ApiError, FormErrors
from tests.emulator.messages import UploadedFile
from tests.emulator.ratelimit import BucketRule


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[UploadedFile]
    headers: Mapping[str, str]

    def snowflake(self, name: str) -> int:
        raw = self.params[name]
        if not raw.isdigit():
            errors = FormErrors()
            errors.add((name,), "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
            raise ApiError(400, 50035, "Invalid Form Body", errors.tree)
        return int(raw)

    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


@dataclass
class ApiResponse:
    status: int = 200
    body: Any = None  # JSON-able; None with 204 means no body
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], Awaitable[ApiResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    bucket: BucketRule
    major: tuple[str, ...]  # params that make a separate bucket (channel_id, guild_id, ...)
    auth: bool  # needs "Authorization: Bot <token>"; interaction webhooks do not
    global_limited: bool

    def major_key(self, params: dict[str, str]) -> str:
        return "+".join(params[m] for m in self.major)


_MAJOR_PARAMS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")


class RouteTable:
    def __init__(self, default_rate: tuple[int, float]) -> None:
        self._routes: list[Route] = []
        self._default_rate = default_rate

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        rate: tuple[int, float] | None = None,
        auth: bool = True,
        global_limited: bool = True,
    ) -> None:
        names = re.findall(r"\{(\w+)\}", template)
        pattern = "".join(
            f"(?P<{piece}>[^/]+)" if i % 2 else re.escape(piece)
            for i, piece in enumerate(re.split(r"\{(\w+)\}", template))
        )
        limit, window = rate or self._default_rate
        digest = hashlib.sha1(f"{method} {template}".encode(), usedforsecurity=False).hexdigest()
        self._routes.append(
            Route(
                method=method,
                template=template,
                regex=re.compile(f"^{pattern}$"),
                handler=handler,
                bucket=BucketRule(digest[:32], limit, window),
                major=tuple(n for n in names if n in _MAJOR_PARAMS),
                auth=auth,
                global_limited=global_limited,
            )
        )

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_exists_for_another_method)."""
        other_method = False
        for route in self._routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict(), True
            other_method = True
        return None, {}, other_method
