"""Canonical article links."""

from __future__ import annotations

import pytest

from bot.stories.links import canonical_link


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://www.site.example/news/123", "site.example/news/123"),
        ("http://site.example/news/123/", "site.example/news/123"),
        ("https://m.site.example/news/123#comments", "site.example/news/123"),
        ("https://SITE.example:443/news/1?utm_source=rss&utm_medium=feed", "site.example/news/1"),
        ("https://site.example/news/123/amp", "site.example/news/123"),
        ("https://site.example/a?id=7&fbclid=xyz&b=2", "site.example/a?b=2&id=7"),  # sorted
        ("https://site.example:8443/a", "site.example:8443/a"),
        ("https://www.example/a", "www.example/a"),  # "www." kept when it is the domain
    ],
)
def test_canonical_link(url: str, canonical: str) -> None:
    assert canonical_link(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://site.example",
        "https://www.site.example/",
        "https://site.example/?utm_source=rss",  # home page behind a tracker
        "ftp://site.example/file",
        "mailto:someone@site.example",
        "https://[::1/broken",
        "https://site.example:notaport/a",
        "https://site.example/" + "a" * 3000,
    ],
)
def test_non_article_links_have_no_canonical_form(url: str | None) -> None:
    assert canonical_link(url) is None


def test_different_articles_stay_different() -> None:
    assert canonical_link("https://site.example/a?id=1") != canonical_link("https://site.example/a?id=2")
    assert canonical_link("https://site.example/a") != canonical_link("https://other.example/a")
