"""parse_feed over every real feed document in the shared corpus."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import feedparser  # the comparison baseline; only bot/feeds/parser.py may use it in bot/
import pytest

from bot.feeds.parser import DEFAULT_FUTURE_TOLERANCE, parse_feed
from tests.bot.feeds.corpus import REAL_DIR, real_feed_names
from tests.bot.feeds.invariants import problems_with

FETCHED_AT = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
DOCUMENT_URL = "https://feeds.example.org/path/feed.xml"


def test_the_corpus_is_there() -> None:
    assert len(real_feed_names()) >= 80


@pytest.mark.parametrize("name", real_feed_names())
def test_real_feed_parses_into_sound_items(name: str) -> None:
    body = (REAL_DIR / name).read_bytes()

    feed = parse_feed(body, url=DOCUMENT_URL, fetched_at=FETCHED_AT)
    plain_entries = feedparser.parse(io.BytesIO(body)).entries

    assert feed.items, "a real feed must yield items"
    assert len(feed.items) == len(plain_entries) - feed.skipped
    assert problems_with(feed) == []
    latest_allowed = FETCHED_AT + DEFAULT_FUTURE_TOLERANCE
    for item in feed.items:
        for moment in (item.published, item.updated):
            assert moment is None or moment <= latest_allowed


def test_future_dates_in_a_real_feed_are_clamped_not_dropped() -> None:
    body = (REAL_DIR / "google-news-search-rss2.xml").read_bytes()  # June-July 2026 items
    fetched_early = datetime(2026, 7, 1, tzinfo=UTC)

    as_published = parse_feed(body, url=DOCUMENT_URL, fetched_at=datetime(2030, 1, 1, tzinfo=UTC))
    clamped = parse_feed(body, url=DOCUMENT_URL, fetched_at=fetched_early)

    assert len(clamped.items) == len(as_published.items) == 92
    future = 0
    for original, seen_early in zip(as_published.items, clamped.items, strict=True):
        assert original.published is not None
        if original.published > fetched_early + DEFAULT_FUTURE_TOLERANCE:
            future += 1
            assert seen_early.published == fetched_early
        else:
            assert seen_early.published == original.published
    assert 0 < future < 92  # both branches are exercised
