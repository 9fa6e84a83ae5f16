"""Jobs the benchmarks send to the parse pool (top-level functions, so they pickle)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import feedparser  # type: ignore[import-untyped]

from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from bot.prepare import PreparedFeed, prepare_feed


def plain_feedparser(body: bytes) -> int:
    """The parse baseline: feedparser alone; returns the entry count (tiny to pickle)."""
    return len(feedparser.parse(io.BytesIO(body)).entries)


def adapter(body: bytes) -> ParsedFeed:
    """Our adapter (sanitize + feedparser + conversion), returned whole as in a poll."""
    return parse_feed(body, url="http://bench.test/", fetched_at=datetime.now(UTC))


def prepare(body: bytes) -> PreparedFeed:
    """The poll's whole pool job: the adapter, dedup keys, search text, story fingerprints."""
    return prepare_feed(body, url="http://bench.test/", fetched_at=datetime.now(UTC), content_type=None)
