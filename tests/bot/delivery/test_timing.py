from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.timing import digest_due, in_quiet_hours, parse_quiet_hours


@pytest.mark.parametrize(
    ("utc", "quiet", "tz", "expected"),
    [
        ("2026-01-10T23:30", "23:00-07:00", "UTC", True),
        ("2026-01-10T06:59", "23:00-07:00", "UTC", True),
        ("2026-01-10T07:00", "23:00-07:00", "UTC", False),
        ("2026-01-10T12:00", "23:00-07:00", "UTC", False),
        ("2026-01-10T22:30", "23:00-07:00", "Europe/Paris", True),  # 23:30 in Paris
        ("2026-07-10T21:30", "23:00-07:00", "Europe/Paris", True),  # 23:30 CEST
        ("2026-01-10T13:00", "12:00-14:00", "UTC", True),
        ("2026-01-10T14:00", "12:00-14:00", "UTC", False),
        ("2026-01-10T13:00", "", "UTC", False),
        ("2026-01-10T13:00", "nonsense", "UTC", False),
        ("2026-01-10T13:00", "12:00-12:00", "UTC", False),
    ],
)
def test_quiet_hours(utc: str, quiet: str, tz: str, expected: bool) -> None:
    assert in_quiet_hours(datetime.fromisoformat(utc).replace(tzinfo=UTC), quiet, tz) is expected


def test_parse_quiet_hours() -> None:
    assert parse_quiet_hours("23:00-07:00") is not None
    assert parse_quiet_hours("25:00-07:00") is None


@pytest.mark.parametrize(
    ("period", "utc", "tz", "expected"),
    [
        ("hourly", "2026-01-10T10:15", "UTC", "2026-01-10T11:00"),
        ("hourly", "2026-01-10T10:00", "UTC", "2026-01-10T11:00"),
        ("daily", "2026-01-10T07:59", "UTC", "2026-01-10T08:00"),
        ("daily", "2026-01-10T08:00", "UTC", "2026-01-11T08:00"),
        ("daily", "2026-01-10T06:30", "Europe/Paris", "2026-01-10T07:00"),  # 08:00 CET
        ("daily", "2026-01-10T20:00", "America/New_York", "2026-01-11T13:00"),  # 08:00 EST
    ],
)
def test_digest_due(period: str, utc: str, tz: str, expected: str) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert digest_due(period, now, tz=tz, digest_time="08:00") == datetime.fromisoformat(expected).replace(tzinfo=UTC)
