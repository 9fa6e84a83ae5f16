"""Retry-After and Cache-Control parsing (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.fetch.headers import parse_cache_max_age, parse_http_date, parse_retry_after

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("3600", 3600.0),
        ("Sat, 01 Mar 2025 12:02:00 GMT", 120.0),
        ("Saturday, 01-Mar-25 12:00:30 GMT", 30.0),  # RFC 850 form
        ("Sat Mar  1 12:00:10 2025", 10.0),  # asctime form
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # in the past: retry now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("١٢٠", None),  # non-ASCII digits
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_http_date_is_aware_utc() -> None:
    assert parse_http_date("Sat, 01 Mar 2025 12:02:00 GMT") == datetime(2025, 3, 1, 12, 2, tzinfo=UTC)
    assert parse_http_date("Sat, 01 Mar 2025 13:02:00 +0100") == datetime(2025, 3, 1, 12, 2, tzinfo=UTC)
    assert parse_http_date("not a date") is None
    assert parse_http_date(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=600", 600),
        ("public, max-age=300, must-revalidate", 300),
        ('MAX-AGE="60"', 60),
        ("s-maxage=100", None),  # for shared caches, not for us
        ("max-age=60, max-age=120", 60),
        ("no-cache, max-age=600", None),
        ("max-age=600, no-store", None),
        ("max-age=-1", None),
        ("max-age=abc", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cache_max_age(value: str | None, expected: int | None) -> None:
    assert parse_cache_max_age(value) == expected
