from __future__ import annotations

import pytest

from bot.delivery.decide import decide_failure
from bot.delivery.transport import SendFailure


@pytest.mark.parametrize(
    ("status", "code", "attempts", "action"),
    [
        (404, 10003, 1, "remove"),
        (403, 50013, 1, "retry"),
        (403, 50013, 2, "retry"),
        (403, 50013, 3, "pause"),
        (403, 50001, 3, "pause"),
        (429, None, 1, "retry"),
        (500, None, 1, "retry"),
        (503, None, 7, "retry"),
        (None, None, 1, "retry"),
        (400, 50035, 1, "drop"),
        (500, None, 25, "drop"),
    ],
)
def test_failure_actions(status: int | None, code: int | None, attempts: int, action: str) -> None:
    decision = decide_failure(SendFailure("x", status=status, code=code, retry_after=2.5), attempts=attempts)
    assert decision.action == action
    assert decision.reason


def test_rate_limit_waits_retry_after_and_backoff_grows() -> None:
    assert decide_failure(SendFailure("x", status=429, retry_after=7.0), attempts=1).delay == 7.0
    delays = [decide_failure(SendFailure("x", status=502), attempts=n).delay for n in range(1, 12)]
    assert delays == sorted(delays) and delays[-1] == 300.0
