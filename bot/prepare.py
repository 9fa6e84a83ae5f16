"""The CPU-heavy half of a poll, run in the parse pool: parse, key, fingerprint.

A top-level function with picklable inputs and outputs, so the event loop (and any open
database transaction) never waits on feedparser or the story fingerprints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from bot.ingest import to_rows
from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint, fingerprint

DIGEST_SIZE = 8  # bytes standing for one item's first dedup key


@dataclass(frozen=True)
class PreparedFeed:
    title: str
    ttl_seconds: int | None
    guid_stable: bool
    rows: tuple[ItemRow, ...]
    # One per row, same order; None for a row the feed served at its last stored poll
    # (``known``): most of a changed feed is items it already had, and their fingerprints,
    # the larger part of this job after feedparser, would be thrown away by the dedup read.
    fingerprints: tuple[StoryFingerprint | None, ...]
    digests: bytes  # this document's items (``digests_of``): its next poll's ``known``


def key_digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=DIGEST_SIZE).digest()


def digests_of(rows: Iterable[ItemRow]) -> bytes:
    """The rows' first keys as digests, what ``prepare_feed`` takes as ``known`` (8 bytes
    an item, so a worker can remember every feed's last items cheaply)."""
    return _packed(key_digest(row.keys[0]) for row in rows)


def _packed(digests: Iterable[bytes]) -> bytes:
    return b"".join(sorted(set(digests)))


def row_fingerprint(row: ItemRow, fetched_at: datetime) -> StoryFingerprint:
    # Clamped to the fetch time: a feed dating items in the future must not expire stories.
    published = min(row.published_at or fetched_at, fetched_at)
    return fingerprint(row.title, row.summary, row.article_key or row.link, published)


def prepare_feed(
    body: bytes, *, url: str, fetched_at: datetime, content_type: str | None, known: bytes = b""
) -> PreparedFeed:
    """Parse and key a feed; fingerprint the rows whose first key is not in ``known``
    (``digests_of`` the feed's last stored poll: a hint, the database still decides)."""
    parsed: ParsedFeed = parse_feed(body, url=url, fetched_at=fetched_at, content_type=content_type)
    rows = to_rows(parsed)
    seen = {known[i : i + DIGEST_SIZE] for i in range(0, len(known), DIGEST_SIZE)}
    digests = [key_digest(row.keys[0]) for row in rows]
    prints = tuple(
        None if digest in seen else row_fingerprint(row, fetched_at) for row, digest in zip(rows, digests, strict=True)
    )
    return PreparedFeed(
        title=parsed.title,
        ttl_seconds=parsed.ttl_seconds,
        guid_stable=parsed.guid_stable,
        rows=tuple(rows),
        fingerprints=prints,
        digests=_packed(digests),
    )
