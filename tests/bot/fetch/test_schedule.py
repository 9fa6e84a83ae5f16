"""Poll scheduling decisions: tables plus a few properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fetch.schedule import (
    PollPolicy,
    disable_threshold,
    next_delay_after_failure,
    next_delay_after_success,
    should_disable,
)

HOUR = 3600.0
NO_JITTER = PollPolicy(interval=300, min_interval=60, max_interval=HOUR, jitter=0)


def failure_delay(
    policy: PollPolicy,
    failures: int,
    *,
    current: float = 300,
    retry_after: float | None = None,
    seed: int = 0,
) -> float:
    return next_delay_after_failure(
        policy,
        consecutive_failures=failures,
        current_interval=current,
        retry_after=retry_after,
        rng=random.Random(seed),
    )


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, 300),
        (2, 600),
        (3, 1200),
        (4, 2400),
        (5, 4800),
        (6, 9600),
        (7, 19200),
        (8, 21600),  # capped at failure_cap (6 h)
        (50, 21600),
        (10_000, 21600),  # no float overflow
    ],
)
def test_backoff_doubles_up_to_the_cap(failures: int, expected: float) -> None:
    assert failure_delay(NO_JITTER, failures) == expected


@pytest.mark.parametrize(
    ("current", "floor", "failures", "expected"),
    [
        (10, 60, 1, 60),  # a fast feed still waits the failure floor
        (10, 60, 2, 120),
        (10, 120, 1, 120),
        (900, 60, 1, 900),  # never sooner than the feed's own interval
        (30000, 60, 1, 30000),  # an interval above the cap wins over the cap
        (30000, 60, 5, 30000),
    ],
)
def test_failure_delay_starts_at_max_of_interval_and_floor(
    current: float, floor: float, failures: int, expected: float
) -> None:
    policy = PollPolicy(interval=10, min_interval=5, max_interval=86400, failure_floor=floor, jitter=0)
    assert failure_delay(policy, failures, current=current) == expected


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [
        (1, 1000, 1000),  # the server asks for longer: honored
        (1, 10, 300),  # shorter than our backoff: ours wins
        (4, 2000, 2400),
        (1, 0, 300),
        (1, 10**9, 86400),  # a hostile Retry-After is capped at a day
        (1, None, 300),
    ],
)
def test_retry_after_is_honored_when_larger(failures: int, retry_after: float | None, expected: float) -> None:
    assert failure_delay(NO_JITTER, failures, retry_after=retry_after) == expected


def test_jitter_stays_within_bounds_and_varies() -> None:
    policy = PollPolicy(interval=300, min_interval=60, max_interval=HOUR, jitter=0.1)
    third = [failure_delay(policy, 3, seed=seed) for seed in range(300)]  # base 1200
    assert all(1080 <= d <= 1320 for d in third)
    assert max(third) - min(third) > 150  # really spread, not a constant
    first = [failure_delay(policy, 1, seed=seed) for seed in range(300)]  # base 300
    assert all(300 <= d <= 330 for d in first)  # never below the start
    capped = [failure_delay(policy, 20, seed=seed) for seed in range(300)]
    assert all(0.9 * 21600 <= d <= 21600 for d in capped)  # never above the cap
    assert len(set(capped)) > 100


def test_failure_count_must_include_this_failure() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        failure_delay(NO_JITTER, 0)


def success_delay(
    policy: PollPolicy,
    *,
    changed: bool,
    current: float,
    ttl: float | None = None,
    max_age: float | None = None,
) -> float:
    return next_delay_after_success(
        policy, changed=changed, current_interval=current, ttl_floor=ttl, cache_max_age=max_age
    )


@pytest.mark.parametrize(
    ("changed", "current", "ttl", "max_age", "expected"),
    [
        (False, 300, None, None, 450),  # unchanged: x1.5
        (False, 3000, None, None, HOUR),  # ... up to max_interval
        (False, HOUR, None, None, HOUR),
        (True, 300, None, None, 150),  # changed: halved
        (True, 100, None, None, 60),  # ... down to min_interval
        (True, 60, None, None, 60),
        (True, 10, None, None, 60),  # an out-of-range current is clamped first
        (False, 99999, None, None, HOUR),
        (True, 300, 1800, None, 1800),  # <ttl> is a floor
        (True, 300, None, 900, 900),  # Cache-Control max-age is a floor
        (True, 300, 600, 900, 900),  # the larger floor wins
        (True, 300, 7 * 86400, None, HOUR),  # a floor never exceeds max_interval
        (False, 300, 100, 200, 450),  # a floor below the adaptive value changes nothing
        (True, 300, 0, 0, 150),  # zero means no floor
    ],
)
def test_success_interval_adapts_within_bounds(
    changed: bool, current: float, ttl: float | None, max_age: float | None, expected: float
) -> None:
    assert success_delay(NO_JITTER, changed=changed, current=current, ttl=ttl, max_age=max_age) == (expected)


@pytest.mark.parametrize(
    ("interval", "cap", "expected"),
    [
        (60, 21600, 12),  # doubling from 60 s hits the 6 h cap at failure 10; 12 pass a day
        (300, 21600, 10),
        (900, 21600, 8),
        (3600, 21600, 6),
        (21600, 21600, 4),
        (86400, 21600, 3),  # one failure already waits a day; still at least 3
    ],
)
def test_default_disable_threshold_is_about_a_day_of_failures(interval: float, cap: float, expected: int) -> None:
    policy = PollPolicy(interval=interval, min_interval=60, max_interval=86400, failure_cap=cap, jitter=0)
    threshold = disable_threshold(policy)
    assert threshold == expected
    assert not should_disable(policy, threshold - 1)
    assert should_disable(policy, threshold)
    delays = [failure_delay(policy, n, current=interval) for n in range(1, threshold)]
    waited_before_last = sum(delays)
    assert threshold == 3 or waited_before_last < 86400


def test_explicit_disable_threshold_wins() -> None:
    policy = PollPolicy(interval=300, min_interval=60, max_interval=HOUR, disable_after_failures=2)
    assert disable_threshold(policy) == 2
    assert not should_disable(policy, 1)
    assert should_disable(policy, 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"interval": 10, "min_interval": 60, "max_interval": HOUR},
        {"interval": 7200, "min_interval": 60, "max_interval": HOUR},
        {"interval": 300, "min_interval": 0, "max_interval": HOUR},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "failure_floor": 0},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "failure_cap": 30},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "jitter": 1.0},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "disable_after_failures": 0},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "grow_factor": 0.5},
        {"interval": 300, "min_interval": 60, "max_interval": HOUR, "shrink_factor": 0},
    ],
)
def test_policy_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PollPolicy(**bad)  # type: ignore[arg-type]


@given(
    failures=st.integers(min_value=1, max_value=200),
    current=st.floats(min_value=1, max_value=200_000),
    retry_after=st.none() | st.floats(min_value=0, max_value=10**7),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_failure_delay_is_always_within_its_bounds(
    failures: int, current: float, retry_after: float | None, seed: int
) -> None:
    policy = PollPolicy(interval=300, min_interval=60, max_interval=HOUR)
    delay = failure_delay(policy, failures, current=current, retry_after=retry_after, seed=seed)
    start = max(current, policy.failure_floor)
    assert delay >= start
    upper = max(start, policy.failure_cap, min(retry_after or 0, policy.retry_after_cap))
    assert delay <= upper


@given(
    changed=st.booleans(),
    current=st.floats(min_value=0, max_value=10**7),
    ttl=st.none() | st.floats(min_value=0, max_value=10**7),
    max_age=st.none() | st.floats(min_value=0, max_value=10**7),
)
def test_success_delay_stays_between_min_and_max(
    changed: bool, current: float, ttl: float | None, max_age: float | None
) -> None:
    delay = success_delay(NO_JITTER, changed=changed, current=current, ttl=ttl, max_age=max_age)
    assert NO_JITTER.min_interval <= delay <= NO_JITTER.max_interval
