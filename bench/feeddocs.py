"""Realistic RSS documents built from real headlines, the same bytes on every call.

Feed ``i`` at version ``v`` carries 50 items whose titles, publishers and article
URLs come from the UCI headlines; a new version is 50 new items (new guids, links and
later dates). Item guids and links are unique per (feed, version, item), so every
version of a feed is new to the pipeline, while a repeated request for the same
version returns byte-identical bodies (what the body-hash skip relies on).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from bench.common import Headline

ITEMS_PER_FEED = 50
# A version's headlines start this far from the previous version's (mod the corpus).
_VERSION_STRIDE = 1_000_003


def headline_index(feed: int, version: int, item: int, corpus: int) -> int:
    return (version * _VERSION_STRIDE + feed * ITEMS_PER_FEED + item) % corpus


def _item_xml(headlines: Sequence[Headline], feed: int, version: int, item: int, base: datetime) -> str:
    corpus = len(headlines)
    row = headlines[headline_index(feed, version, item, corpus)]
    follow_on = headlines[(headline_index(feed, version, item, corpus) + 1) % corpus]
    joiner = "&" if "?" in row.url else "?"
    link = f"{row.url}{joiner}swfeed={feed}.{version}.{item}"
    published = base + timedelta(minutes=version * 60 - item)
    description = f"<p>{row.title}</p><p>{row.publisher} reports. Also today: {follow_on.title}</p>"
    return (
        "<item>"
        f"<title>{escape(row.title)}</title>"
        f"<link>{escape(link)}</link>"
        f'<guid isPermaLink="false">sw-bench-{feed}-{version}-{item}</guid>'
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<description>{escape(description)}</description>"
        f"<category>{escape(row.publisher)}</category>"
        "</item>"
    )


def feed_document(headlines: Sequence[Headline], feed: int, version: int, base: datetime) -> bytes:
    """Feed ``feed`` at ``version``; ``base`` (aware) anchors the item dates.

    Version ``v``'s items are dated up to ``v`` hours after ``base``, newest first.
    """
    base = base.astimezone(UTC)
    items = "".join(_item_xml(headlines, feed, version, n, base) for n in range(ITEMS_PER_FEED))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0"><channel>'
        f"<title>Bench News {feed}</title>"
        f"<link>https://news{feed}.example.com/</link>"
        f"<description>Benchmark feed {feed}</description>"
        f"<lastBuildDate>{format_datetime(base, usegmt=True)}</lastBuildDate>"
        f"{items}</channel></rss>\n"
    ).encode()


# Rolling feeds: step ``s`` adds one new item; its headline comes from this far away.
_ROLL_VERSION = 500


def roll_headline(headlines: Sequence[Headline], feed: int, step: int) -> Headline:
    return headlines[headline_index(feed, _ROLL_VERSION + step, 0, len(headlines))]


def roll_marker(feed: int, step: int) -> str:
    """The query parameter that identifies a rolling item in its link."""
    return f"swroll={feed}.{step}"


def _roll_item_xml(headlines: Sequence[Headline], feed: int, step: int, base: datetime) -> str:
    row = roll_headline(headlines, feed, step)
    joiner = "&" if "?" in row.url else "?"
    link = f"{row.url}{joiner}{roll_marker(feed, step)}"
    published = base + timedelta(hours=23, seconds=step)
    return (
        "<item>"
        f"<title>{escape(row.title)}</title>"
        f"<link>{escape(link)}</link>"
        f'<guid isPermaLink="false">sw-roll-{feed}-{step}</guid>'
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<description>{escape(f'<p>{row.title}</p><p>{row.publisher} reports.</p>')}"
        "</description>"
        f"<category>{escape(row.publisher)}</category>"
        "</item>"
    )


def rolling_document(headlines: Sequence[Headline], feed: int, version: int, base: datetime) -> bytes:
    """Version 1's items, with one new item on top per version after the first.

    What a live feed looks like between polls: the newest story added, the oldest gone.
    """
    base = base.astimezone(UTC)
    steps = range(version - 1, 0, -1)
    fresh = "".join(_roll_item_xml(headlines, feed, step, base) for step in steps)
    kept = ITEMS_PER_FEED - min(ITEMS_PER_FEED, version - 1)
    old = "".join(_item_xml(headlines, feed, 1, n, base) for n in range(kept))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0"><channel>'
        f"<title>Bench News {feed}</title>"
        f"<link>https://news{feed}.example.com/</link>"
        f"<description>Benchmark feed {feed}</description>"
        f"{fresh}{old}</channel></rss>\n"
    ).encode()


def version_etag(feed: int, version: int) -> str:
    return f'"f{feed}-v{version}"'
