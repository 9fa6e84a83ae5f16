"""The parse pool's job on real documents: what it fingerprints and what it leaves out."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.prepare import DIGEST_SIZE, PreparedFeed, digests_of, prepare_feed, row_fingerprint
from tests.bot.feeds.corpus import REAL_DIR

FETCHED_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DOCUMENT = "bbc-news-home-rss2.xml"


def prepare(known: bytes = b"") -> PreparedFeed:
    body = (REAL_DIR / DOCUMENT).read_bytes()
    return prepare_feed(
        body, url="https://feeds.bbci.co.uk/news/rss.xml", fetched_at=FETCHED_AT, content_type=None, known=known
    )


def test_every_row_is_fingerprinted_when_nothing_is_known() -> None:
    prepared = prepare()
    assert len(prepared.rows) >= 10
    assert list(prepared.fingerprints) == [row_fingerprint(row, FETCHED_AT) for row in prepared.rows]


def test_rows_the_feed_had_last_time_are_left_unfingerprinted() -> None:
    rows = prepare().rows
    last_time = rows[3:]  # the three newest items appeared since
    prepared = prepare(digests_of(last_time))
    assert prepared.rows == rows  # rows, keys and search text are whole either way
    assert list(prepared.fingerprints[:3]) == [row_fingerprint(row, FETCHED_AT) for row in rows[:3]]
    assert prepared.fingerprints[3:] == (None,) * (len(rows) - 3)


def test_digests_are_one_per_distinct_first_key() -> None:
    rows = prepare().rows
    digests = digests_of(rows + rows)
    assert len(digests) == DIGEST_SIZE * len({row.keys[0] for row in rows})


def test_a_prepared_feed_carries_its_own_digests_for_the_next_poll() -> None:
    prepared = prepare()
    assert prepared.digests == digests_of(prepared.rows)
    assert prepare(prepared.digests).fingerprints == (None,) * len(prepared.rows)
