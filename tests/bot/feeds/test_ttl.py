"""ttl_seconds from <ttl> or the syndication module."""

from __future__ import annotations

import pytest

from bot.feeds.ttl import MAX_TTL_SECONDS, ttl_seconds


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "expected"),
    [
        ("60", None, None, 3600),
        (" 15 ", None, None, 900),
        ("60", "daily", "1", 3600),  # <ttl> wins
        (None, "hourly", "1", 3600),
        (None, "hourly", "6", 600),
        (None, "hourly", None, 3600),
        (None, None, "2", 43200),  # period defaults to daily
        (None, "Daily", "4", 21600),
        (None, "weekly", "1", MAX_TTL_SECONDS),  # capped
        ("99999999", None, None, MAX_TTL_SECONDS),
        ("0", None, None, None),
        ("-5", None, None, None),
        ("abc", None, None, None),
        (None, "fortnightly", "1", None),
        (None, "hourly", "zero", None),
        (None, None, None, None),
        ("１０", None, None, None),  # non-ASCII digits
    ],
)
def test_ttl_seconds(ttl: str | None, period: str | None, frequency: str | None, expected: int | None) -> None:
    assert ttl_seconds(ttl, period, frequency) == expected
