"""parse_feed behaviour on small hand-written documents."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing import get_context

import pytest

from bot.errors import FeedError, FeedParseError
from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import REAL_DIR
from tests.bot.feeds.invariants import problems_with

FETCHED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://example.com/blog/feed.xml"
NAMESPACES = (
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def rss(items: str, channel_extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NAMESPACES}><channel>'
        f"<title>Example</title><link>https://example.com/</link>{channel_extra}"
        f"{items}</channel></rss>"
    ).encode()


def parse(body: bytes, **options: object) -> ParsedFeed:
    return parse_feed(body, url=URL, fetched_at=FETCHED_AT, **options)  # type: ignore[arg-type]


def test_relative_links_resolve_against_the_url_and_xml_base() -> None:
    body = b"""<?xml version="1.0"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://cdn.example.net/posts/">
      <title>Atom</title>
      <entry><title>Based</title><link href="one.html"/><id>tag:x,1</id></entry>
      <entry xml:base="/other/"><title>Rebased</title><link href="two.html"/><id>tag:x,2</id>
      </entry>
    </feed>"""
    plain = rss(
        "<item><title>Rooted</title><link>/2026/03/rooted</link></item>"
        "<item><title>Sibling</title><link>sibling.html</link></item>"
    )

    assert [item.link for item in parse(body).items] == [
        "https://cdn.example.net/posts/one.html",
        "https://cdn.example.net/other/two.html",
    ]
    assert [item.link for item in parse(plain).items] == [
        "https://example.com/2026/03/rooted",
        "https://example.com/blog/sibling.html",
    ]


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "mailto:editor@example.com", "ftp://example.com/x", "data:,x"],
)
def test_links_that_are_not_http_become_none(href: str) -> None:
    body = rss(f"<item><title>Bad link</title><link>{href}</link></item>")

    (item,) = parse(body).items

    assert item.link is None
    assert item.title == "Bad link"


def test_permalink_guids_stand_in_for_a_missing_link_only_when_absolute() -> None:
    body = rss(
        "<item><title>a</title><guid>https://example.com/posts/1</guid></item>"
        "<item><title>b</title><guid>12345</guid></item>"
        "<item><title>c</title><guid>12346</guid><link>/posts/3</link></item>"
    )

    assert [item.link for item in parse(body).items] == [
        "https://example.com/posts/1",
        None,
        "https://example.com/posts/3",
    ]


def test_text_fields_lose_markup_control_characters_and_extra_whitespace() -> None:
    body = rss(
        "<item><title>  Breaking:\n\tmarkets   &amp;\u00a0more </title>"
        "<link>https://example.com/a</link>"
        "<description><![CDATA[<p>First&nbsp;para.</p><script>evil()</script>"
        "<p>Second &lt;b&gt;para&lt;/b&gt;.</p>]]></description>"
        "<dc:creator>  Jane \t Doe </dc:creator>"
        "<category> Politics </category><category>Politics</category><category>  </category>"
        "<guid isPermaLink='false'>  id-1\n</guid></item>"
    )

    (item,) = parse(body).items

    assert item.title == "Breaking: markets & more"
    # escaped markup is markup too (double-escaped feeds are common): no tags survive
    assert item.summary == "First para. Second para."
    assert item.author == "Jane Doe"
    assert item.categories == ("Politics",)
    assert item.guid == "id-1"


def test_html_titles_are_reduced_to_text() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; brave</title>
      <link href="https://example.com/x"/><id>tag:x,1</id></entry></feed>"""

    assert parse(body).items[0].title == "Bold & brave"


def test_untitled_items_borrow_the_summarys_first_words() -> None:
    long_summary = " ".join(f"word{n}" for n in range(1, 21))
    body = rss(
        f"<item><link>https://example.com/1</link><description>{long_summary}</description></item>"
        "<item><link>https://example.com/2</link><description>Short note.</description></item>"
        "<item><title> </title><link>https://example.com/3</link></item>"
    )

    titles = [item.title for item in parse(body).items]

    assert titles == [
        "word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 word12…",
        "Short note.",
        "https://example.com/3",  # nothing else to show
    ]


def test_items_with_neither_title_nor_link_are_skipped_and_counted() -> None:
    body = rss(
        "<item><title>Kept</title></item>"
        "<item><guid isPermaLink='false'>only-a-guid</guid></item>"
        "<item><link>javascript:void(0)</link><title></title></item>"
        "<item><link>https://example.com/kept-too</link></item>"
    )

    feed = parse(body)

    assert [item.title for item in feed.items] == ["Kept", "https://example.com/kept-too"]
    assert feed.skipped == 2


def test_dates_missing_unparseable_future_and_updated_only() -> None:
    body = rss(
        "<item><title>none</title></item>"
        "<item><title>junk</title><pubDate>someday soon</pubDate></item>"
        "<item><title>future</title><pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate></item>"
        "<item><title>near</title><pubDate>Sun, 01 Mar 2026 12:05:00 GMT</pubDate></item>"
        "<item><title>dc</title><dc:date>2026-02-01T10:00:00+01:00</dc:date></item>"
    )

    none, junk, future, near, dc = parse(body).items

    assert none.published is None
    assert junk.published is None
    assert future.published == FETCHED_AT  # clamped, not dropped
    assert near.published == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)  # within tolerance
    assert dc.published == dc.updated == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def test_future_tolerance_and_aware_fetched_at_in_any_zone() -> None:
    body = rss("<item><title>t</title><pubDate>Sun, 01 Mar 2026 12:05:00 GMT</pubDate></item>")
    fetched_in_paris = FETCHED_AT.astimezone(timezone(timedelta(hours=1)))

    strict = parse_feed(body, url=URL, fetched_at=fetched_in_paris, future_tolerance=timedelta(0))

    assert strict.items[0].published == FETCHED_AT
    assert strict.items[0].published.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_feed(body, url=URL, fetched_at=datetime(2026, 3, 1))


def test_atom_published_and_updated_are_kept_apart() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>
      <title>x</title><link href="https://example.com/x"/><id>tag:x,1</id>
      <published>2026-01-01T00:00:00Z</published><updated>2026-01-02T00:00:00Z</updated>
      </entry></feed>"""

    (item,) = parse(body).items

    assert item.published == datetime(2026, 1, 1, tzinfo=UTC)
    assert item.updated == datetime(2026, 1, 2, tzinfo=UTC)


def test_image_preference_media_content_then_thumbnail_then_enclosure_then_img() -> None:
    img = '<description><![CDATA[<p>x<img src="/inline.jpg"></p>]]></description>'
    body = rss(
        "<item><title>1</title>"
        '<media:content url="https://v.example/clip.mp4" type="video/mp4"/>'
        '<media:content url="https://i.example/content.jpg" medium="image"/>'
        '<media:thumbnail url="https://i.example/thumb.jpg"/>'
        f"{img}</item>"
        '<item><title>2</title><media:thumbnail url="//i.example/thumb.jpg"/>'
        '<enclosure url="https://i.example/enc.png" type="image/png" length="1"/></item>'
        '<item><title>3</title><enclosure url="https://a.example/ep.mp3" type="audio/mpeg"'
        ' length="1"/><enclosure url="/enc.gif" type="image/gif" length="1"/></item>'
        f"<item><title>4</title>{img}</item>"
        "<item><title>5</title><description>no picture</description></item>"
    )

    images = [item.image for item in parse(body).items]

    assert images == [
        "https://i.example/content.jpg",
        "https://i.example/thumb.jpg",
        "https://example.com/enc.gif",
        "https://example.com/inline.jpg",
        None,
    ]


def test_ttl_and_syndication_period() -> None:
    with_ttl = rss("<item><title>t</title></item>", "<ttl>30</ttl>")
    with_sy = rss(
        "<item><title>t</title></item>",
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
    )

    assert parse(with_ttl).ttl_seconds == 1800
    assert parse(with_sy).ttl_seconds == 900
    assert parse(rss("<item><title>t</title></item>")).ttl_seconds is None


@pytest.mark.parametrize(
    ("guids", "stable"),
    [
        (["a", "b", "c"], True),
        (["a", None, "c"], False),
        (["a", "b", "a"], False),
        (["1", "2", "3"], False),
    ],
)
def test_guid_stability(guids: list[str | None], stable: bool) -> None:
    items = "".join(
        f"<item><title>t{n}</title><link>https://example.com/{n}</link>"
        + (f"<guid isPermaLink='false'>{guid}</guid>" if guid else "")
        + "</item>"
        for n, guid in enumerate(guids)
    )

    assert parse(rss(items)).guid_stable is stable


def test_charset_from_content_type_is_honoured() -> None:
    # windows-1251 bytes with no XML declaration: only the header can say what they are.
    body = (
        '<rss version="2.0"><channel><title>c</title><item><title>Привет</title>'
        "<link>https://example.ru/1</link></item></channel></rss>"
    )
    encoded = body.encode("windows-1251")

    with_header = parse(encoded, content_type="application/rss+xml; charset=windows-1251")
    without_header = parse(encoded)

    assert with_header.items[0].title == "Привет"
    assert without_header.items[0].title != "Привет"


def test_html_content_type_does_not_stop_a_real_feed() -> None:
    body = (REAL_DIR / "xkcd-rss2.xml").read_bytes()
    assert len(parse(body, content_type="text/html; charset=utf-8").items) == 4


def test_well_formed_feed_without_items_is_empty_not_an_error() -> None:
    feed = parse(rss(""))

    assert feed.items == ()
    assert feed.title == "Example"
    assert feed.skipped == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty document"),
        (b"  \r\n\t ", "empty document"),
        (
            b"<!DOCTYPE html><html><head><title>Moved</title></head><body>x</body></html>",
            "HTML page",
        ),
        (b'{"items": [{"title": "json"}]}', "not a feed"),
        (bytes(range(256)) * 4, "not a feed"),
        (b'<rss version="2.0"><channel><title>x</ti', "malformed"),
        (
            rss("<item><guid isPermaLink='false'>g</guid></item><item><description> </description></item>"),
            "none of the feed's 2 items",
        ),
        (b'<?xml version="1.0" encoding="\xff\xfe"?><rss/>', "unreadable document"),
    ],
    ids=[
        "empty",
        "blank",
        "html",
        "json",
        "binary",
        "truncated",
        "no-usable-items",
        "bad-encoding",
    ],
)
def test_unusable_documents_raise_feed_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message) as caught:
        parse(body)

    assert isinstance(caught.value, FeedError)
    assert caught.value.kind == "parse"


def test_results_and_errors_survive_pickling() -> None:
    feed = parse((REAL_DIR / "guardian-us-rss2.xml").read_bytes())
    error = FeedParseError("not a feed: the document is an HTML page")

    assert pickle.loads(pickle.dumps(feed)) == feed
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_parse_feed_runs_in_a_process_pool() -> None:
    bodies = [(REAL_DIR / name).read_bytes() for name in ("xkcd-atom.xml", "bbc-urdu-rss2.xml")]

    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(parse_feed, body, url=URL, fetched_at=FETCHED_AT) for body in bodies]
        remote = [future.result(timeout=60) for future in futures]
        failing = pool.submit(parse_feed, b"<html></html>", url=URL, fetched_at=FETCHED_AT)
        with pytest.raises(FeedParseError):
            failing.result(timeout=60)

    assert remote == [parse(body) for body in bodies]
    assert all(problems_with(feed) == [] for feed in remote)
