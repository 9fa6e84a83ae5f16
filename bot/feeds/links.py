"""Resolve a feed's (possibly relative, possibly messy) URL to an absolute http(s) one."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

# Browsers drop tabs and newlines anywhere in a URL (WHATWG URL standard); feeds that
# wrap a long <link> over several lines rely on it. Other controls make it unusable.
_DROPPED_INSIDE = re.compile("[\t\n\r]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def absolute_http_url(href: str | None, base: str | None) -> str | None:
    """``href`` resolved against ``base``; None unless the result is http(s) with a host."""
    if not href:
        return None
    cleaned = _DROPPED_INSIDE.sub("", href).strip()
    if not cleaned or _CONTROL.search(cleaned):
        return None
    cleaned = cleaned.replace(" ", "%20")
    try:
        resolved = urljoin(base, cleaned) if base else cleaned
        parts = urlsplit(resolved)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port like ":abc" or ":99999"
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return resolved
