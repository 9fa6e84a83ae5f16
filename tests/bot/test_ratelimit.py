"""Sliding-window limits and the command limits built on them, driven by a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ratelimit import CommandLimits, RateDecision, SlidingWindowLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# (seconds since start, key, expected wait) for limit=3, window=10.
LIMITER_TABLE = [
    (0.0, "a", 0.0),
    (1.0, "a", 0.0),
    (2.0, "a", 0.0),
    (3.0, "a", 7.0),  # 4th within 10 s: wait until the first (t=0) leaves the window
    (3.0, "b", 0.0),  # keys are independent
    (9.5, "a", 0.5),
    (10.0, "a", 0.0),  # t=0 left the window (boundary is exclusive)
    (10.5, "a", 0.5),  # window now holds 1, 2, 10: wait for t=1 to leave
    (11.0, "a", 0.0),
    (11.0, "a", 1.0),  # holds 2, 10, 11
    (25.0, "a", 0.0),  # all old hits gone
]


def test_sliding_window_table() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(limit=3, window=10.0, clock=clock)
    for at, key, expected in LIMITER_TABLE:
        clock.now = at
        assert limiter.hit(key) == pytest.approx(expected), (at, key)


def test_refused_hits_are_not_counted() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=1, window=10.0, clock=clock)
    assert limiter.hit("k") == 0.0
    for _ in range(50):
        clock.advance(0.1)
        assert limiter.hit("k") > 0.0
    clock.advance(5.0)  # 10 s after the only counted hit
    assert limiter.hit("k") == 0.0


def test_retry_after_does_not_record() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=1, window=10.0, clock=clock)
    assert limiter.retry_after("k") == 0.0
    assert limiter.retry_after("k") == 0.0
    assert limiter.hit("k") == 0.0
    assert limiter.retry_after("k") == pytest.approx(10.0)


def test_idle_keys_are_forgotten() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=5, window=60.0, clock=clock)
    for member in range(10_000):
        limiter.hit(member)
    assert limiter.tracked_keys == 10_000
    clock.advance(61.0)
    limiter.hit("someone new")  # any call after a window sweeps the idle keys
    assert limiter.tracked_keys == 1


def test_memory_stays_bounded_under_a_stream_of_new_keys() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=2, window=10.0, clock=clock)
    most = 0
    for key in range(20_000):
        clock.advance(0.01)  # 1000 new keys per window
        limiter.hit(key)
        most = max(most, limiter.tracked_keys)
    assert most <= 2 * 1000 + 1


@pytest.mark.parametrize(("limit", "window"), [(0, 10.0), (-1, 10.0), (1, 0.0), (1, -5.0)])
def test_nonsense_limits_are_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        SlidingWindowLimiter(limit, window)


@given(
    limit=st.integers(min_value=1, max_value=5),
    gaps=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 4.0]), max_size=60),
)
def test_never_more_than_limit_in_any_window(limit: int, gaps: list[float]) -> None:
    window = 4.0
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(limit, window, clock)
    allowed: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        wait = limiter.hit("k")
        if wait == 0.0:
            allowed.append(clock.now)
        else:
            # A refusal happens only when the window really is full...
            in_window = [t for t in allowed if t > clock.now - window]
            assert len(in_window) == limit
            # ...and the wait is exactly until the oldest of them leaves.
            assert wait == pytest.approx(in_window[0] + window - clock.now)
    for t in allowed:
        assert len([u for u in allowed if t <= u < t + window]) <= limit


def limits(clock: FakeClock) -> CommandLimits:
    return CommandLimits.per_minute(member_changes=2, server_changes=3, member_reads=4, clock=clock)


def test_member_change_limit_message() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    assert command_limits.change(1, 100).allowed
    clock.advance(10.0)
    assert command_limits.change(1, 100).allowed
    clock.advance(37.5)
    decision = command_limits.change(1, 100)
    assert decision == RateDecision(
        allowed=False,
        retry_after=12.5,  # exact: every time here is a binary fraction
        message="You're changing follows too fast: try again in 13 s.",
    )


def test_server_change_limit_applies_across_members() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    for member in (1, 2, 3):
        assert command_limits.change(member, 100).allowed
        clock.advance(1.0)
    decision = command_limits.change(4, 100)
    assert not decision.allowed
    assert decision.retry_after == pytest.approx(57.0)
    assert decision.message == ("This server is making too many changes right now: try again in 57 s.")
    # Another server is unaffected, and so is member 4 there.
    assert command_limits.change(4, 200).allowed


def test_a_change_refused_by_one_limit_is_counted_by_neither() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    # Fill the server with members 1-3.
    for member in (1, 2, 3):
        assert command_limits.change(member, 100).allowed
    # Member 4 is refused by the server limit many times; none of it counts for member 4.
    for _ in range(10):
        assert not command_limits.change(4, 100).allowed
    assert command_limits.change(4, 200).allowed
    assert command_limits.change(4, 201).allowed  # member 4's 2 changes are both still free
    assert not command_limits.change(4, 202).allowed
    # Member 1 is refused by the member limit in server 300; server 300 keeps all its room.
    assert command_limits.change(1, 300).allowed
    for _ in range(5):
        assert not command_limits.change(1, 300).allowed
    for member in (7, 8):
        assert command_limits.change(member, 300).allowed


@pytest.mark.parametrize(
    ("member_1_at", "others_at", "expected_wait", "expected_start"),
    [
        # Member 1 is full until 60, server 100 until 80: the server's wait is shown.
        ((0.0, 1.0), (20.0, 21.0, 22.0), 50.0, "This server is making too many changes right now"),
        # Member 1 is full until 80, server 100 until 60: the member's wait is shown.
        ((20.0, 21.0), (0.0, 1.0, 2.0), 50.0, "You're changing follows too fast"),
    ],
)
def test_the_longer_wait_is_reported_when_both_limits_refuse(
    member_1_at: tuple[float, ...],
    others_at: tuple[float, ...],
    expected_wait: float,
    expected_start: str,
) -> None:
    clock = FakeClock(0.0)
    command_limits = limits(clock)
    events = [(t, 1, 200) for t in member_1_at] + [(t, member, 100) for member, t in enumerate(others_at, start=2)]
    for at, member, server in sorted(events):
        clock.now = at
        assert command_limits.change(member, server).allowed
    clock.now = 30.0
    decision = command_limits.change(1, 100)
    assert not decision.allowed
    assert decision.retry_after == pytest.approx(expected_wait)
    assert decision.message == f"{expected_start}: try again in {int(expected_wait)} s."


def test_direct_messages_use_the_member_limit_only() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    assert command_limits.change(1, None).allowed
    assert command_limits.change(1, None).allowed
    assert not command_limits.change(1, None).allowed
    assert command_limits.server_changes.tracked_keys == 0


def test_reads_have_their_own_looser_limit() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    assert command_limits.change(1, 100).allowed
    assert command_limits.change(1, 100).allowed
    assert not command_limits.change(1, 100).allowed
    for _ in range(4):
        assert command_limits.read(1).allowed
    clock.advance(0.2)
    decision = command_limits.read(1, doing="listing follows")
    assert decision.message == "You're listing follows too fast: try again in 60 s."
    assert command_limits.read(2).allowed


def test_following_the_advice_always_works() -> None:
    clock = FakeClock(0.3)
    command_limits = limits(clock)
    while command_limits.change(1, 100).allowed:
        clock.advance(0.7)
    refusal = command_limits.change(1, 100, doing="adding feeds")
    assert refusal.message.startswith("You're adding feeds too fast: try again in ")
    seconds = int(refusal.message.rsplit(" in ", 1)[1].removesuffix(" s."))
    clock.advance(seconds - 1)
    assert not command_limits.change(1, 100).allowed
    clock.advance(1)
    assert command_limits.change(1, 100).allowed


def test_a_tiny_wait_is_shown_as_one_second() -> None:
    clock = FakeClock()
    command_limits = limits(clock)
    command_limits.change(1, 100)
    command_limits.change(1, 100)
    clock.advance(59.99)
    decision = command_limits.change(1, 100)
    assert decision.retry_after == pytest.approx(0.01)
    assert decision.message.endswith("try again in 1 s.")
