"""When to poll a feed next: pure decisions on plain values (no I/O, no clock).

The poller stores, per feed, its current interval and its count of consecutive
failures, and asks these functions for the next delay in seconds.

Choices:

- After a success the interval adapts: a changed feed is polled sooner (the
  interval is multiplied by ``shrink_factor``, 0.5), an unchanged one later
  (``grow_factor``, 1.5), always within [min_interval, max_interval]. A feed's
  own ``<ttl>`` and the server's Cache-Control max-age are a floor (the publisher
  asked us not to come sooner), but never above max_interval, so a feed claiming
  a week-long ttl is still checked daily if max_interval is a day.
- After a failure the delay doubles per consecutive failure, starting from
  max(current interval, failure_floor) so a failing feed is never polled more
  often than a healthy one, up to failure_cap. Jitter of ±``jitter`` spreads
  feeds that failed together (one host down) so they do not all return at
  once; the result is clamped back into [start, cap]. A Retry-After the server
  sent wins when it asks for longer, up to ``retry_after_cap`` so a hostile
  header cannot park a feed for years.
- A feed is disabled after about a day of failures: unless set explicitly, the
  threshold is the number of consecutive failures whose (jitter-free) backoff
  delays add up to 24 hours, and at least 3.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DAY_SECONDS = 24 * 3600.0
MIN_DISABLE_THRESHOLD = 3
# 2**64 times any floor is far past any cap; bounding the exponent avoids float overflow.
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Polling bounds for one feed (seconds)."""

    interval: float
    min_interval: float
    max_interval: float
    failure_floor: float = 60.0
    failure_cap: float = 6 * 3600.0
    disable_after_failures: int | None = None  # None: about a day of failures
    jitter: float = 0.1
    grow_factor: float = 1.5
    shrink_factor: float = 0.5
    retry_after_cap: float = DAY_SECONDS

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= interval <= max_interval")
        if not 0 < self.failure_floor <= self.failure_cap:
            raise ValueError("need 0 < failure_floor <= failure_cap")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.disable_after_failures is not None and self.disable_after_failures < 1:
            raise ValueError("disable_after_failures must be at least 1")
        if self.grow_factor < 1 or not 0 < self.shrink_factor <= 1:
            raise ValueError("need grow_factor >= 1 and 0 < shrink_factor <= 1")
        if self.retry_after_cap <= 0:
            raise ValueError("retry_after_cap must be positive")


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))


def next_delay_after_success(
    policy: PollPolicy,
    *,
    changed: bool,
    current_interval: float,
    ttl_floor: float | None,
    cache_max_age: float | None,
) -> float:
    """The next interval after a successful poll (also the new current interval)."""
    current = _clamp(current_interval, policy.min_interval, policy.max_interval)
    factor = policy.shrink_factor if changed else policy.grow_factor
    proposed = _clamp(current * factor, policy.min_interval, policy.max_interval)
    floors = [value for value in (ttl_floor, cache_max_age) if value is not None and value > 0]
    floor = min(max(floors, default=0.0), policy.max_interval)
    return max(proposed, floor)


def _backoff(policy: PollPolicy, consecutive_failures: int, current_interval: float) -> float:
    start = max(current_interval, policy.failure_floor)
    doublings = min(consecutive_failures - 1, _MAX_DOUBLINGS)
    return max(start, min(start * 2.0**doublings, policy.failure_cap))


def next_delay_after_failure(
    policy: PollPolicy,
    *,
    consecutive_failures: int,
    current_interval: float,
    retry_after: float | None,
    rng: random.Random,
) -> float:
    """The delay before retrying a feed that has now failed ``consecutive_failures``
    times in a row (1 after the first failure). ``current_interval`` is the feed's
    regular interval, not the previous failure delay."""
    if consecutive_failures < 1:
        raise ValueError("consecutive_failures counts this failure, so it is at least 1")
    start = max(current_interval, policy.failure_floor)
    jittered = _backoff(policy, consecutive_failures, current_interval) * (
        1 + rng.uniform(-policy.jitter, policy.jitter)
    )
    delay = max(start, min(jittered, policy.failure_cap))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.retry_after_cap))
    return delay


def disable_threshold(policy: PollPolicy) -> int:
    """Consecutive failures after which the feed is disabled (see module docstring)."""
    if policy.disable_after_failures is not None:
        return policy.disable_after_failures
    failures = 0
    waited = 0.0
    while waited < DAY_SECONDS:  # ends: every delay is at least failure_floor > 0
        failures += 1
        waited += _backoff(policy, failures, policy.interval)
    return max(MIN_DISABLE_THRESHOLD, failures)


def should_disable(policy: PollPolicy, consecutive_failures: int) -> bool:
    return consecutive_failures >= disable_threshold(policy)
