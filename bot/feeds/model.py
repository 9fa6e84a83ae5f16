"""The project's own records for a parsed feed (no feedparser types leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ParsedItem:
    title: str
    link: str | None  # absolute http(s) URL or None
    guid: str | None
    published: datetime | None  # aware UTC; None when the feed gives no usable date
    updated: datetime | None  # aware UTC
    summary: str  # plain text: HTML stripped, entities decoded, whitespace collapsed
    author: str | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None  # absolute URL
    source: str | None = None  # publisher name from <source> (search feeds), if any
    source_url: str | None = None  # publisher's article URL when a search feed gives one


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    items: tuple[ParsedItem, ...]
    skipped: int = 0  # items dropped for having neither title nor link
    ttl_seconds: int | None = None  # <ttl> or sy:updatePeriod/updateFrequency, as a floor
    guid_stable: bool = True  # False when guids look unusable (missing/duplicated)
    extra: dict[str, str] = field(default_factory=dict)
