"""How long a feed asks to be left alone: RSS <ttl> or the syndication module."""

from __future__ import annotations

from types import MappingProxyType

# A hostile or careless feed must not park itself for a year; a news bot polls daily
# at the very least, whatever the feed says.
MAX_TTL_SECONDS = 24 * 60 * 60

_PERIOD_SECONDS = MappingProxyType(
    {
        "hourly": 60 * 60,
        "daily": 24 * 60 * 60,
        "weekly": 7 * 24 * 60 * 60,
        "monthly": 30 * 24 * 60 * 60,
        "yearly": 365 * 24 * 60 * 60,
    }
)


def _positive_int(text: str | None) -> int | None:
    if text is None:
        return None
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()) or len(stripped) > 9:
        return None
    value = int(stripped)
    return value if value > 0 else None


def ttl_seconds(ttl_minutes: str | None, update_period: str | None, update_frequency: str | None) -> int | None:
    """Seconds between polls the feed asks for, capped at MAX_TTL_SECONDS; None if unsaid.

    <ttl> is in minutes and wins. Otherwise sy:updatePeriod (default "daily" when only a
    frequency is given) divided by sy:updateFrequency (default 1) is used.
    """
    minutes = _positive_int(ttl_minutes)
    if minutes is not None:
        return min(minutes * 60, MAX_TTL_SECONDS)
    if update_period is None and update_frequency is None:
        return None
    period = _PERIOD_SECONDS.get((update_period or "daily").strip().lower())
    if period is None:
        return None
    frequency = 1 if update_frequency is None else _positive_int(update_frequency)
    if frequency is None:
        return None
    return min(max(period // frequency, 1), MAX_TTL_SECONDS)
