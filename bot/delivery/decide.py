"""Pure decisions about a failed send: retry when, pause the channel, or give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.delivery.transport import SendFailure

MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_CHANNEL = 10003
MAX_FORBIDDEN_ATTEMPTS = 3
MAX_ATTEMPTS = 25
BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0


@dataclass(frozen=True)
class FailureDecision:
    action: Literal["retry", "pause", "remove", "drop"]
    delay: float = 0.0
    reason: str = ""


def backoff(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


def decide_failure(failure: SendFailure, *, attempts: int) -> FailureDecision:
    """``attempts`` counts this one. Unknown outcomes are retried: the nonce dedupes them."""
    status = failure.status
    if status == 404 and failure.code in (UNKNOWN_CHANNEL, None):
        return FailureDecision("remove", reason="the channel no longer exists (404 Unknown Channel)")
    if status == 403:
        what = "Missing Access" if failure.code == MISSING_ACCESS else "Missing Permissions"
        if attempts >= MAX_FORBIDDEN_ATTEMPTS:
            return FailureDecision("pause", reason=f"Storywatch cannot post there ({what})")
        return FailureDecision("retry", delay=backoff(attempts), reason=f"403 {what}")
    if attempts >= MAX_ATTEMPTS:
        return FailureDecision("drop", reason=f"gave up after {attempts} attempts: {failure}")
    if status == 429:
        return FailureDecision("retry", delay=max(failure.retry_after or 0.0, 1.0), reason="rate limited")
    if status is None or status >= 500:
        return FailureDecision("retry", delay=backoff(attempts), reason=str(failure) or "timeout")
    # Any other 4xx means the request itself is wrong: retrying cannot help.
    return FailureDecision("drop", reason=f"Discord refused the message ({status}): {failure}")
