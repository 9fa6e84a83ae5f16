"""Slash-command rate limits: sliding windows per member and per server.

State-changing commands (follow, unfollow, feed add/remove) must pass both the
member's and the server's window, so one member cannot flood a server and a busy
server cannot be flooded by many members; reads get a looser per-member window.
A refused command is not counted, so waiting the advertised time always works.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

Clock = Callable[[], float]

MINUTE = 60.0


class SlidingWindowLimiter:
    """At most ``limit`` hits per key within any ``window`` seconds.

    Memory stays bounded: a key's timestamps older than the window are dropped, and
    once per window every idle key is forgotten, so only keys seen in roughly the
    last two windows are held, at most ``limit`` timestamps each.
    """

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if not window > 0:
            raise ValueError(f"window must be positive, not {window}")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._last_sweep = clock()

    @property
    def tracked_keys(self) -> int:
        return len(self._hits)

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may hit again (0.0: now), without recording anything."""
        now = self._clock()
        self._sweep(now)
        hits = self._recent(key, now)
        if hits is None or len(hits) < self._limit:
            return 0.0
        return max(hits[0] + self._window - now, 0.0)

    def record(self, key: Hashable) -> None:
        """Count a hit for ``key`` now (call only after ``retry_after`` returned 0.0)."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self._limit)
        hits.append(now)

    def hit(self, key: Hashable) -> float:
        """Record a hit and return 0.0 if allowed; otherwise return the seconds to wait."""
        wait = self.retry_after(key)
        if wait == 0.0:
            self.record(key)
        return wait

    def _recent(self, key: Hashable, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        cutoff = now - self._window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self._window:
            return
        self._last_sweep = now
        cutoff = now - self._window
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= cutoff]
        for key in idle:
            del self._hits[key]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float  # seconds; 0.0 when allowed
    message: str  # for the member; empty when allowed


ALLOWED = RateDecision(allowed=True, retry_after=0.0, message="")


@dataclass(frozen=True, slots=True)
class CommandLimits:
    member_changes: SlidingWindowLimiter
    server_changes: SlidingWindowLimiter
    member_reads: SlidingWindowLimiter

    @classmethod
    def per_minute(
        cls,
        member_changes: int,
        server_changes: int,
        member_reads: int,
        clock: Clock = time.monotonic,
    ) -> CommandLimits:
        """Limits as configured in ``[limits]`` (counts per minute)."""
        return cls(
            member_changes=SlidingWindowLimiter(member_changes, MINUTE, clock),
            server_changes=SlidingWindowLimiter(server_changes, MINUTE, clock),
            member_reads=SlidingWindowLimiter(member_reads, MINUTE, clock),
        )

    def change(self, member_id: int, server_id: int | None, *, doing: str = "changing follows") -> RateDecision:
        """A state-changing command; ``server_id`` is None in DMs (member limit only).

        ``doing`` completes "You're ... too fast".
        """
        member_wait = self.member_changes.retry_after(member_id)
        server_wait = 0.0 if server_id is None else self.server_changes.retry_after(server_id)
        if member_wait == 0.0 and server_wait == 0.0:
            self.member_changes.record(member_id)
            if server_id is not None:
                self.server_changes.record(server_id)
            return ALLOWED
        if member_wait >= server_wait:
            return _refused(member_wait, f"You're {doing} too fast")
        return _refused(server_wait, "This server is making too many changes right now")

    def read(self, member_id: int, *, doing: str = "using commands") -> RateDecision:
        wait = self.member_reads.hit(member_id)
        if wait == 0.0:
            return ALLOWED
        return _refused(wait, f"You're {doing} too fast")


def _refused(wait: float, reason: str) -> RateDecision:
    # Whole seconds, rounded up, so following the advice never hits the limit again.
    seconds = max(1, math.ceil(wait))
    return RateDecision(allowed=False, retry_after=wait, message=f"{reason}: try again in {seconds} s.")
