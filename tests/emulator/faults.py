"""Failure injection: canned error answers, slow answers, and a full outage switch."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_DEFAULT_BODIES: dict[int, dict[str, Any]] = {
    400: {"message": "400: Bad Request", "code": 0},
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
    503: {"message": "503: Service Unavailable", "code": 0},
    504: {"message": "504: Gateway Timeout", "code": 0},
}


@dataclass
class FailRule:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any] | None
    retry_after: float | None
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    is_global: bool = False


@dataclass
class DelayRule:
    method: str
    pattern: re.Pattern[str]
    seconds: float
    apply: bool
    remaining: int


def default_error_body(status: int) -> dict[str, Any]:
    return dict(_DEFAULT_BODIES.get(status, {"message": f"{status}", "code": 0}))


class FaultInjector:
    def __init__(self) -> None:
        self.failures: list[FailRule] = []
        self.delays: list[DelayRule] = []
        self.outage = False

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
        count: int = 1,
        headers: dict[str, str] | None = None,
        is_global: bool = False,
    ) -> FailRule:
        rule = FailRule(
            method.upper(),
            re.compile(path_regex),
            status,
            body,
            retry_after,
            count,
            dict(headers or {}),
            is_global,
        )
        self.failures.append(rule)
        return rule

    def delay_next(
        self, method: str, path_regex: str, seconds: float, *, count: int = 1, apply: bool = True
    ) -> DelayRule:
        rule = DelayRule(method.upper(), re.compile(path_regex), seconds, apply, count)
        self.delays.append(rule)
        return rule

    def take_failure(self, method: str, path: str) -> FailRule | None:
        rule = _take(self.failures, method, path)
        return rule if isinstance(rule, FailRule) else None

    def take_delay(self, method: str, path: str) -> DelayRule | None:
        rule = _take(self.delays, method, path)
        return rule if isinstance(rule, DelayRule) else None

    def clear(self) -> None:
        self.failures.clear()
        self.delays.clear()


def _take(rules: list[Any], method: str, path: str) -> FailRule | DelayRule | None:
    for rule in rules:
        if rule.method not in ("*", method) or not rule.pattern.search(path):
            continue
        rule.remaining -= 1
        if rule.remaining <= 0:
            rules.remove(rule)
        return rule  # type: ignore[no-any-return]
    return None
