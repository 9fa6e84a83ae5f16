"""Reading the response headers that steer polling (pure functions, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 9110 HTTP-date as an aware UTC datetime, or None when unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # HTTP-dates are GMT by definition
    return parsed.astimezone(UTC)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date).

    ``now`` should be the response's Date header when present, so a server whose
    clock is off still gets the delay it meant. A date in the past means 0.
    Unreadable or negative values give None (the caller's own backoff applies).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def parse_cache_max_age(value: str | None) -> int | None:
    """``max-age`` seconds from a Cache-Control header, or None.

    ``no-store``/``no-cache`` give None: the server asks for revalidation, so it
    sets no floor on the polling interval. The first max-age wins if repeated.
    """
    if not value:
        return None
    max_age: int | None = None
    for directive in value.split(","):
        name, _, argument = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return None
        if name == "max-age" and max_age is None:
            digits = argument.strip().strip('"')
            if digits.isascii() and digits.isdigit():
                max_age = int(digits)
    return max_age
