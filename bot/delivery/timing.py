"""Pure time rules: quiet hours and digest due times, in a server's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_clock(text: str) -> time:
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'23:00-07:00' -> (23:00, 07:00); '' or malformed -> None (no quiet hours)."""
    if not text or "-" not in text:
        return None
    try:
        start, end = (parse_clock(part) for part in text.split("-", 1))
    except ValueError:
        return None
    return None if start == end else (start, end)


def in_quiet_hours(now: datetime, quiet: str, tz: str) -> bool:
    window = parse_quiet_hours(quiet)
    if window is None:
        return False
    start, end = window
    local = now.astimezone(zone(tz)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight


def digest_due(period: str, now: datetime, *, tz: str, digest_time: str) -> datetime:
    """When a digest entry matched ``now`` goes out: the next full hour, or the next
    ``digest_time`` in the server's zone (daily)."""
    if period == "hourly":
        return (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    local_zone = zone(tz)
    local = now.astimezone(local_zone)
    at = parse_clock(digest_time)
    due = datetime.combine(local.date(), at, tzinfo=local_zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=local_zone)
    return due.astimezone(UTC)
