"""parse_date_text and the date helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds.dates import clamp_future, parse_date_text, plausible


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 14 Jul 2026 03:33:16 GMT", utc(2026, 7, 14, 3, 33, 16)),
        ("Sun, 23 Feb 2014 20:15:11 EST", utc(2014, 2, 24, 1, 15, 11)),
        ("Fri, 24 Aug 2012 08:45:54 EST", utc(2012, 8, 24, 13, 45, 54)),
        ("Wed, 02 Oct 2002 08:00:00 PDT", utc(2002, 10, 2, 15, 0, 0)),
        ("Wed, 02 Oct 2002 08:00:00 PST", utc(2002, 10, 2, 16, 0, 0)),
        ("Wed, 02 Oct 2002 08:00:00 CEST", utc(2002, 10, 2, 6, 0, 0)),
        ("Thu, 07 Dec 17 10:00:29 -0800", utc(2017, 12, 7, 18, 0, 29)),
        ("Mon, 14 July 2014 12:00:00 +0000", utc(2014, 7, 14, 12, 0, 0)),
        ("Thu, 20 February 2014 15:58:34 GMT", utc(2014, 2, 20, 15, 58, 34)),
        ("Sat, Dec 16 2023 02:02:33 PM", utc(2023, 12, 16, 14, 2, 33)),
        ("Sat, Dec 16 2023 12:02:33 AM", utc(2023, 12, 16, 0, 2, 33)),
        ("December 16, 2023 9:05 pm", utc(2023, 12, 16, 21, 5, 0)),
        ("Mon, 16 Oct 2017 15:10:00 +0000 (UTC)", utc(2017, 10, 16, 15, 10, 0)),
        ("16 Sept 2019 10:00 +05:30", utc(2019, 9, 16, 4, 30, 0)),
        ("2020/1/10 14:33:00", utc(2020, 1, 10, 14, 33, 0)),
        ("2020/01/10", utc(2020, 1, 10)),
        ("2019-08-27", utc(2019, 8, 27)),
        ("2014-05-20T10:00:00Z", utc(2014, 5, 20, 10, 0, 0)),
        ("2014-05-20T10:00:00+02:00", utc(2014, 5, 20, 8, 0, 0)),
        ("2014-05-20 10:00:00", utc(2014, 5, 20, 10, 0, 0)),
        ("1518478934", utc(2018, 2, 12, 23, 42, 14)),
        ("  Tue,  14 Jul 2026\n03:33:16 GMT ", utc(2026, 7, 14, 3, 33, 16)),
    ],
)
def test_known_formats_become_aware_utc(raw: str, expected: datetime) -> None:
    parsed = parse_date_text(raw)

    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "garbage",
        "Seg, 24 Set 2018 19:42:40 -0300",  # Portuguese names: left to feedparser
        "Sat, 32 Dec 2023 10:00:00 GMT",
        "Sat, 16 Dec 2023 13:00 PM",
        "Wed, 02 Oct 2002 08:00:00 XYZ",  # unknown zone: left to feedparser
        "0000-00-00",
        "1970-01-01T00:00:00Z",  # a placeholder, not news
        "2020/13/40",
    ],
)
def test_unknown_or_impossible_dates_are_none(raw: str | None) -> None:
    assert parse_date_text(raw) is None


def test_clamp_future_keeps_past_and_near_dates_and_clamps_far_ones() -> None:
    now = utc(2026, 1, 1, 12)
    tolerance = timedelta(minutes=10)

    assert clamp_future(now - timedelta(days=3), now, tolerance) == now - timedelta(days=3)
    assert clamp_future(now + timedelta(minutes=9), now, tolerance) == now + timedelta(minutes=9)
    assert clamp_future(now + timedelta(minutes=11), now, tolerance) == now
    assert clamp_future(now + timedelta(days=400), now, tolerance) == now
    assert clamp_future(None, now, tolerance) is None


def test_plausible_drops_placeholders_only() -> None:
    assert plausible(utc(1970, 1, 1)) is None
    assert plausible(utc(1999, 12, 31)) == utc(1999, 12, 31)
    assert plausible(None) is None
