"""Discord-style rate limits: per-route buckets keyed by major parameter, plus a global cap.

Fixed windows in real monotonic time (discord.py sleeps real seconds). Every answer
carries the X-RateLimit-* headers discord.py reads to pre-emptively wait.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketRule:
    bucket_hash: str
    limit: int
    window: float


@dataclass
class _Window:
    reset_at: float
    used: int = 0


@dataclass
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


class RateLimiter:
    def __init__(self, *, global_limit: int = 50, enabled: bool = True) -> None:
        self.enabled = enabled
        self.global_limit = global_limit
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global = _Window(reset_at=0.0)

    def check(self, rule: BucketRule, major: str, *, counts_globally: bool) -> RateDecision:
        now = time.monotonic()
        window = self._window(rule, major, now)
        if not self.enabled:
            # Limits off: report a full bucket, so clients don't pace themselves either.
            return RateDecision(True, self._headers(rule, _Window(reset_at=now + rule.window), now))
        if counts_globally:
            if now >= self._global.reset_at:
                self._global = _Window(reset_at=now + 1.0)
            if self._global.used >= self.global_limit:
                retry = self._global.reset_at - now
                headers = self._headers(rule, window, now)
                headers.update(_retry_headers(retry, scope="global"))
                headers["X-RateLimit-Global"] = "true"
                return RateDecision(False, headers, retry, is_global=True)
            self._global.used += 1
        if window.used >= rule.limit:
            retry = window.reset_at - now
            headers = self._headers(rule, window, now)
            headers.update(_retry_headers(retry, scope="user"))
            return RateDecision(False, headers, retry)
        window.used += 1
        return RateDecision(True, self._headers(rule, window, now))

    def peek_headers(self, rule: BucketRule, major: str) -> dict[str, str]:
        """Headers for an answer that did not consume the bucket (injected failures)."""
        now = time.monotonic()
        return self._headers(rule, self._window(rule, major, now), now)

    def _window(self, rule: BucketRule, major: str, now: float) -> _Window:
        key = (rule.bucket_hash, major)
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            window = _Window(reset_at=now + rule.window)
            self._windows[key] = window
        return window

    @staticmethod
    def _headers(rule: BucketRule, window: _Window, now: float) -> dict[str, str]:
        reset_after = max(window.reset_at - now, 0.0)
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - window.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": rule.bucket_hash,
        }


def _retry_headers(retry_after: float, *, scope: str) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}


def rate_limited_body(retry_after: float, *, is_global: bool) -> dict[str, object]:
    return {
        "message": "You are being rate limited.",
        "retry_after": round(max(retry_after, 0.001), 3),
        "global": is_global,
    }
