"""Properties every ParsedFeed must have, whatever document it came from."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from bot.feeds.model import ParsedFeed

TAG_LIKE = re.compile(r"</?[A-Za-z][^<>]*>")


def control_characters(text: str) -> list[str]:
    return [char for char in text if unicodedata.category(char) in ("Cc", "Cs")]


def is_absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def problems_with(feed: ParsedFeed) -> list[str]:
    """Every broken invariant, described; empty when the feed is fine."""
    problems: list[str] = []
    for index, item in enumerate(feed.items):
        where = f"item {index} ({item.title[:40]!r})"
        if not item.title or item.title != item.title.strip():
            problems.append(f"{where}: empty or unstripped title")
        if TAG_LIKE.search(item.title):
            problems.append(f"{where}: HTML tag in title")
        for name in ("title", "summary", "guid", "author", "source"):
            value = getattr(item, name)
            if value is not None and control_characters(value):
                problems.append(f"{where}: control characters in {name}")
            if value is not None and ("\n" in value or "  " in value):
                problems.append(f"{where}: uncollapsed whitespace in {name}")
        for name in ("link", "image", "source_url"):
            url = getattr(item, name)
            if url is not None and not is_absolute_http(url):
                problems.append(f"{where}: {name} {url!r} is not absolute http(s)")
        for name in ("published", "updated"):
            moment = getattr(item, name)
            if moment is not None and moment.utcoffset() != timedelta(0):
                problems.append(f"{where}: {name} {moment!r} is not UTC")
            if moment is not None and moment.tzinfo is not UTC:
                problems.append(f"{where}: {name} {moment!r} is not tz=UTC")
    if feed.link is not None and not is_absolute_http(feed.link):
        problems.append(f"feed link {feed.link!r} is not absolute http(s)")
    return problems
