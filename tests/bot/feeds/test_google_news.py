"""publisher_url: offline decoding of Google News and Google redirect links."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bot.feeds.google_news import is_google_link, publisher_url
from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import REAL_DIR

# A real old-style id (from a public Google News RSS link): it embeds the BBC URL and,
# as a second field, its AMP version.
OLD_STYLE_BBC = (
    "https://news.google.com/rss/articles/CBMiLmh0dHBzOi8vd3d3LmJiYy5jb20vbmV3cy9hcnRpY2xl"
    "cy9jampqbnhkdjE4OG_SATJodHRwczovL3d3dy5iYmMuY29tL25ld3MvYXJ0aWNsZXMvY2pqam54ZHYxODhv"
    "LmFtcA?oc=5"
)
# A real new-style id: protobuf around an opaque "AU_yqL..." token, no URL inside.
NEW_STYLE = (
    "https://news.google.com/rss/articles/CBMiVkFVX3lxTE4zaGU2bTY2ZGkzdTRkSkJ0cFpsTGlDUjkx"
    "U2FBRURaTWU0c3QzVWZ1MHZZNkZ5Vzk1ZVBnTDFHY2R6ZmdCUkpUTUJsS1pqQTlCRzlzbHV3?oc=5"
)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def old_style_link(url: str, path: str = "/rss/articles/") -> str:
    encoded = url.encode()
    message = b"\x08\x13" + b"\x22" + _varint(len(encoded)) + encoded
    article_id = base64.urlsafe_b64encode(message).rstrip(b"=").decode()
    return f"https://news.google.com{path}{article_id}?oc=5&hl=en-US"


def test_real_old_style_id_decodes_to_the_publisher_url() -> None:
    assert publisher_url(OLD_STYLE_BBC) == "https://www.bbc.com/news/articles/cjjjnxdv188o"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a",
        "https://www.nytimes.com/2026/07/14/us/politics/bears-ears-monument.html?smid=rss",
        "http://news.example.org/" + "long-path/" * 30,  # length needs a 2-byte varint
        "https://example.com/ünïcode-path",
    ],
)
def test_constructed_old_style_ids_decode(url: str) -> None:
    assert publisher_url(old_style_link(url)) == url
    assert publisher_url(old_style_link(url, path="/articles/")) == url
    assert publisher_url(old_style_link(url, path="/read/")) == url


@pytest.mark.parametrize(
    "link",
    [
        NEW_STYLE,
        "https://news.google.com/rss/articles/!!!not-base64",
        "https://news.google.com/rss/articles/CBMi",  # truncated
        "https://news.google.com/rss/articles/" + "A" * 10_000,
        old_style_link("javascript:alert(1)"),
        "https://news.google.com/search?q=bears+ears",
    ],
)
def test_undecodable_google_news_links_give_none(link: str) -> None:
    assert publisher_url(link) is None


def test_non_google_links_are_not_search_links() -> None:
    assert publisher_url("https://www.bbc.com/news/articles/x") is None
    assert not is_google_link("https://www.bbc.com/news/articles/x")
    assert is_google_link(NEW_STYLE)


def test_google_alerts_redirects_carry_the_target() -> None:
    link = (
        "https://www.google.com/url?rct=j&sa=t&url=https://investorplace.com/2019/07/"
        "slack-stock-truly-compelling/&ct=ga&cd=CAIyHGU4ZTJkZjQ3&usg=AFQjCNEZXRy"
    )
    assert publisher_url(link) == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"


def test_description_anchor_is_used_when_the_link_is_opaque() -> None:
    decodable = old_style_link("https://example.com/story")
    description = f'<a href="{decodable}" target="_blank">Story</a>&nbsp;<font>Example</font>'

    assert publisher_url(NEW_STYLE, description) == "https://example.com/story"
    assert publisher_url(NEW_STYLE, '<a href="https://pub.example/x">x</a>') == ("https://pub.example/x")
    assert publisher_url(NEW_STYLE, "<p>no anchors</p>") is None
    assert publisher_url(NEW_STYLE, "<![0 broken declaration") is None


def test_real_search_feed_sets_source_and_leaves_opaque_links_undecoded() -> None:
    body = (REAL_DIR / "google-news-search-rss2.xml").read_bytes()
    url = "https://news.google.com/rss/search?q=%22Bears+Ears%22+monument"

    feed = parse_feed(body, url=url, fetched_at=datetime(2026, 8, 1, tzinfo=UTC))

    assert feed.items[0].source == "The Washington Post"
    assert all(item.source for item in feed.items)
    # every link in this 2026 capture is the new opaque form: nothing to decode offline
    assert all(item.source_url is None for item in feed.items)
    assert all(item.link and item.link.startswith("https://news.google.com/rss/articles/") for item in feed.items)


def test_parse_feed_decodes_old_style_search_items() -> None:
    link = old_style_link("https://www.example.com/news/local-story")
    body = (
        '<rss version="2.0"><channel><title>Search</title><item>'
        f"<title>Local story - Example News</title><link>{link.replace('&', '&amp;')}</link>"
        '<source url="https://www.example.com">Example News</source>'
        "</item></channel></rss>"
    ).encode()

    item = parse_feed(
        body,
        url="https://news.google.com/rss/search?q=x",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    ).items[0]

    assert item.link == link
    assert item.source == "Example News"
    assert item.source_url == "https://www.example.com/news/local-story"


def test_real_alerts_feed_sets_source_url() -> None:
    body = (REAL_DIR / "google-alerts-atom.xml").read_bytes()

    feed = parse_feed(
        body,
        url="https://www.google.com/alerts/feeds/1/2",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert feed.items[1].source_url == ("https://investorplace.com/2019/07/slack-stock-truly-compelling/")
    assert all(item.source_url and not is_google_link(item.source_url) for item in feed.items)
