"""Bodies that are themselves gzip files."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from bot.errors import FeedParseError
from bot.feeds.gzip_body import gunzip_if_compressed
from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import HOSTILE_DIR, REAL_DIR


def test_plain_bodies_are_returned_unchanged() -> None:
    body = (REAL_DIR / "xkcd-rss2.xml").read_bytes()
    assert gunzip_if_compressed(body) is body


def test_gzip_body_decompresses_to_the_original_document() -> None:
    compressed = (HOSTILE_DIR / "gzip-body-oren-ru-windows-1251.xml.gz").read_bytes()
    assert gunzip_if_compressed(compressed) == (REAL_DIR / "oren-ru-rss2.xml").read_bytes()


def test_gzip_body_parses_like_the_original() -> None:
    compressed = (HOSTILE_DIR / "gzip-body-oren-ru-windows-1251.xml.gz").read_bytes()
    original = (REAL_DIR / "oren-ru-rss2.xml").read_bytes()
    fetched_at = datetime(2026, 1, 1, tzinfo=UTC)

    from_gzip = parse_feed(compressed, url="https://www.oren.ru/rss", fetched_at=fetched_at)
    from_plain = parse_feed(original, url="https://www.oren.ru/rss", fetched_at=fetched_at)

    assert from_gzip == from_plain
    assert len(from_gzip.items) == 10


def test_concatenated_members_are_joined() -> None:
    two_members = gzip.compress(b"<rss>") + gzip.compress(b"</rss>")
    assert gunzip_if_compressed(two_members) == b"<rss></rss>"


def test_decompression_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))  # ~5 KB on the wire

    assert len(gunzip_if_compressed(bomb, max_bytes=5 * 1024 * 1024)) == 5 * 1024 * 1024
    with pytest.raises(FeedParseError, match="expands beyond 1048576 bytes"):
        gunzip_if_compressed(bomb, max_bytes=1024 * 1024)


def test_parse_feed_passes_its_cap_down() -> None:
    body = gzip.compress((REAL_DIR / "xkcd-rss2.xml").read_bytes())
    fetched_at = datetime(2026, 1, 1, tzinfo=UTC)

    assert parse_feed(body, url="https://xkcd.com/rss.xml", fetched_at=fetched_at).items
    with pytest.raises(FeedParseError, match="expands beyond"):
        parse_feed(body, url="https://xkcd.com/rss.xml", fetched_at=fetched_at, max_decompressed_bytes=100)


@pytest.mark.parametrize(
    "corrupt",
    [
        gzip.compress(b"<rss></rss>" * 50)[:-6],  # truncated trailer
        gzip.compress(b"<rss></rss>" * 50)[:15],  # truncated data
        b"\x1f\x8b\x08\x00garbage-garbage-garbage",
    ],
    ids=["truncated-trailer", "truncated-data", "garbage"],
)
def test_corrupt_gzip_is_a_clear_parse_error(corrupt: bytes) -> None:
    with pytest.raises(FeedParseError, match=r"gzip-compressed body is (corrupt|truncated)"):
        gunzip_if_compressed(corrupt)
