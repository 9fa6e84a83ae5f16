"""The CPU-heavy half of a poll, run in the parse pool: parse, key, fingerprint.

A top-level function with picklable inputs and outputs, so the event loop (and any open
database transaction) never waits on feedparser or the story fingerprints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from bot.ingest import to_rows
from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint, fingerprint


@dataclass(frozen=True)
class PreparedFeed:
    title: str
    ttl_seconds: int | None
    guid_stable: bool
    rows: tuple[ItemRow, ...]
    fingerprints: tuple[StoryFingerprint, ...]  # one per row, same order


def prepare_feed(body: bytes, *, url: str, fetched_at: datetime, content_type: str | None) -> PreparedFeed:
    parsed: ParsedFeed = parse_feed(body, url=url, fetched_at=fetched_at, content_type=content_type)
    rows = to_rows(parsed)
    prints = tuple(
        fingerprint(
            row.title, row.summary, row.article_key or row.link, min(row.published_at or fetched_at, fetched_at)
        )
        for row in rows
    )
    return PreparedFeed(
        title=parsed.title,
        ttl_seconds=parsed.ttl_seconds,
        guid_stable=parsed.guid_stable,
        rows=tuple(rows),
        fingerprints=prints,
    )
