"""Feed date strings to aware UTC datetimes.

feedparser parses most formats, but silently gets some wrong ("2020/1/10 14:33:00"
becomes 1 November 2020, "02:02:33 PM" loses its PM, a Unix timestamp becomes a date
in 2015). ``parse_date_text`` handles those families strictly and returns None for
anything else, so the adapter can fall back to feedparser only then. Dates without a
zone are taken as UTC: feeds give no better hint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

# Before this, a date is a placeholder (0000-00-00, the epoch) rather than real news.
EARLIEST_PLAUSIBLE = datetime(1980, 1, 1, tzinfo=UTC)

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)  # fmt: skip

# Hours east of UTC for the zone names feeds use (RFC 822 names plus common ones).
# Ambiguous names (IST, CST in China, BST in Bangladesh) follow the RFC or the most
# common English-language use.
_ZONE_HOURS = MappingProxyType(
    {
        "UT": 0.0, "UTC": 0.0, "GMT": 0.0, "Z": 0.0, "WET": 0.0,
        "BST": 1.0, "WEST": 1.0, "CET": 1.0, "MET": 1.0,
        "CEST": 2.0, "MEST": 2.0, "EET": 2.0, "SAST": 2.0,
        "EEST": 3.0, "MSK": 3.0, "IST": 5.5, "JST": 9.0, "KST": 9.0, "HKT": 8.0,
        "SGT": 8.0, "AWST": 8.0, "ACST": 9.5, "AEST": 10.0, "AEDT": 11.0,
        "NZST": 12.0, "NZDT": 13.0,
        "EST": -5.0, "EDT": -4.0, "CST": -6.0, "CDT": -5.0, "MST": -7.0, "MDT": -6.0,
        "PST": -8.0, "PDT": -7.0, "AKST": -9.0, "AKDT": -8.0, "HST": -10.0,
        "AST": -4.0, "ADT": -3.0, "NST": -3.5, "NDT": -2.5,
    }
)  # fmt: skip

_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"(?:\s*(?P<ampm>[AaPp])\.?[Mm]\.?)?"
)
_ZONE = r"(?P<zone>[+-]\d{2}:?\d{2}|[+-]\d{1,2}|[A-Za-z]{1,5})"

# "Sat, 16 Dec 2023 14:02:33 EST", "Sat, Dec 16 2023 02:02:33 PM", "14 July 2014"...
_RFC822_LIKE = re.compile(
    r"(?:[A-Za-z]+\.?,?\s+)?"
    r"(?:(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s-]+(?P<month>[A-Za-z]{3,9})\.?"
    r"|(?P<month2>[A-Za-z]{3,9})\.?\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?,?)"
    r"[\s-]+(?P<year>\d{4}|\d{2}),?"
    rf"(?:\s+(?:at\s+)?{_TIME})?"
    rf"(?:\s*{_ZONE})?"
    r"(?:\s*\([^)]*\))?",
    re.IGNORECASE,
)

# "2020/1/10 14:33:00", "2020/01/10"
_SLASHED = re.compile(rf"(?P<year>\d{{4}})/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})(?:[\sT]+{_TIME})?(?:\s*{_ZONE})?")

_EPOCH_SECONDS = re.compile(r"\d{9,10}")


def _zone_offset(zone: str | None) -> timezone | None:
    """The UTC offset a zone token names; None for an unknown name."""
    if not zone:
        return UTC
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
        if hours > 14 or minutes > 59:
            return None
        sign = -1 if zone[0] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    hours_east = _ZONE_HOURS.get(zone.upper())
    return None if hours_east is None else timezone(timedelta(hours=hours_east))


def _clock(match: re.Match[str]) -> tuple[int, int, int] | None:
    if match.group("hour") is None:
        return (0, 0, 0)
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    second = int(match.group("second") or 0)
    ampm = match.group("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    return hour, minute, min(second, 59)  # leap second 60 -> 59


def _build(year: int, month: int, day: int, match: re.Match[str], zone: str | None) -> datetime | None:
    clock = _clock(match)
    offset = _zone_offset(zone)
    if clock is None or offset is None:
        return None
    try:
        return datetime(year, month, day, *clock, tzinfo=offset).astimezone(UTC)
    except ValueError:  # 31 February, hour 25...
        return None


def _from_rfc822_like(text: str) -> datetime | None:
    match = _RFC822_LIKE.fullmatch(text)
    if match is None:
        return None
    month = _month_number(match.group("month") or match.group("month2"))
    if month is None:
        return None
    year = int(match.group("year"))
    if year < 100:  # RFC 2822 section 4.3
        year += 2000 if year < 50 else 1900
    day = int(match.group("day") or match.group("day2"))
    return _build(year, month, day, match, match.group("zone"))


def _month_number(name: str) -> int | None:
    """1-12 for an English month name, its 3-letter abbreviation or "Sept"."""
    name = name.lower()
    for number, full_name in enumerate(_MONTH_NAMES, start=1):
        if name in (full_name, full_name[:3]) or (number == 9 and name == "sept"):
            return number
    return None


def _from_slashed(text: str) -> datetime | None:
    match = _SLASHED.fullmatch(text)
    if match is None:
        return None
    year, month, day = int(match.group("year")), int(match.group("month")), int(match.group("day"))
    return _build(year, month, day, match, match.group("zone"))


def _from_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(text: str) -> datetime | None:
    if not _EPOCH_SECONDS.fullmatch(text):
        return None
    return datetime.fromtimestamp(int(text), tz=UTC)


def parse_date_text(raw: str | None) -> datetime | None:
    """An aware UTC datetime for the formats this module knows, else None."""
    if not raw:
        return None
    text = " ".join(raw.split())
    for parser in (_from_rfc822_like, _from_iso, _from_slashed, _from_epoch):
        parsed = parser(text)
        if parsed is not None:
            return parsed if parsed >= EARLIEST_PLAUSIBLE else None
    return None


def plausible(moment: datetime | None) -> datetime | None:
    """``moment`` unless it is a placeholder from before EARLIEST_PLAUSIBLE."""
    if moment is None or moment < EARLIEST_PLAUSIBLE:
        return None
    return moment


def clamp_future(moment: datetime | None, now: datetime, tolerance: timedelta) -> datetime | None:
    """A date beyond ``now + tolerance`` becomes ``now``: feeds with fast clocks or
    scheduled posts would otherwise sort above everything for days."""
    if moment is not None and moment > now + tolerance:
        return now
    return moment
