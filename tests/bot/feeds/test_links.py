"""absolute_http_url: relative links resolved, anything not http(s) dropped."""

from __future__ import annotations

import pytest

from bot.feeds.links import absolute_http_url

BASE = "https://example.com/news/feed.xml"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://other.org/a", "https://other.org/a"),
        ("/a/b", "https://example.com/a/b"),
        ("story.html", "https://example.com/news/story.html"),
        ("//cdn.example.net/x.png", "https://cdn.example.net/x.png"),
        ("  https://example.com/spaced  ", "https://example.com/spaced"),
        ("https://example.com/wrapped\n/over/lines", "https://example.com/wrapped/over/lines"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("javascript:alert(1)", None),
        ("mailto:someone@example.com", None),
        ("ftp://example.com/file", None),
        ("data:text/html,hi", None),
        ("feed://example.com/rss", None),
        ("http://", None),
        ("http://[::1", None),
        ("http://example.com:99999/", None),
        ("https://exa\x00mple.com/", None),
        ("", None),
        (None, None),
    ],
)
def test_absolute_http_url(href: str | None, expected: str | None) -> None:
    assert absolute_http_url(href, BASE) == expected


def test_relative_link_without_a_base_is_none() -> None:
    assert absolute_http_url("/a", None) is None
    assert absolute_http_url("/a", "") is None
