"""canonical_link, item_dedup_key, article_key and guids_look_stable."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.feeds.dedup import (
    MAX_KEY_VALUE_LENGTH,
    article_key,
    canonical_link,
    guids_look_stable,
    item_dedup_key,
    publisher_url,
)
from bot.feeds.google_news import publisher_url as google_news_publisher_url
from bot.feeds.model import ParsedItem


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:/a", "https://example.com/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?a=2&a=1", "https://example.com/a?a=1&a=2"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?#top", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?id=7&fbclid=XYZ&gclid=1&UTM_Campaign=x",
            "https://example.com/a?id=7",
        ),
        (
            "https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc&_hsenc=a&_hsmi=b"
            "&yclid=c&spm=d&dclid=e&msclkid=f&keep=1",
            "https://example.com/a?keep=1",
        ),
        (
            "https://www.bbc.co.uk/news/world-123?at_medium=RSS&at_campaign=KARANGA",
            "https://www.bbc.co.uk/news/world-123",
        ),
        ("https://example.com/a?utm%5Fsource=x&b=1", "https://example.com/a?b=1"),
        ("https://example.com/a%2fb?q=%e2%9c%93", "https://example.com/a%2Fb?q=%E2%9C%93"),
        ("https://example.com/a?x&&y=", "https://example.com/a?x&y="),
        ("https://user:Pass@Example.com:443/x", "https://user:Pass@example.com/x"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("http://Example.com:0080/x", "http://example.com/x"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("mailto:someone@Example.com", "mailto:someone@Example.com"),
        ("not a url", "not a url"),
        ("/relative/path?utm_source=x", "/relative/path?utm_source=x"),
    ],
)
def test_canonical_link(url: str, canonical: str) -> None:
    assert canonical_link(url) == canonical
    assert canonical_link(canonical) == canonical


_URL_PARTS = st.builds(
    lambda scheme, host, port, path, params, fragment: (
        f"{scheme}://{host}{port}{path}{'?' if params else ''}{'&'.join(params)}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]),
    st.one_of(
        st.sampled_from(["Example.COM", "a.b.c", "[::1]", "[2001:DB8::A]", "u:p@H.com", ""]),
        st.text(alphabet="abcXYZ.-_@:[]%", max_size=12),
    ),
    st.sampled_from(["", ":", ":80", ":443", ":0443", ":8080", ":x", ":99999999999"]),
    st.text(alphabet="/abcAZ%2fE.~-_ é?", max_size=15),
    st.lists(
        st.one_of(
            st.sampled_from(["utm_source=x", "UTM_MEDIUM=y", "fbclid=1", "spm=", "a", "b=", ""]),
            st.text(alphabet="abz=%2F5_&;+é", max_size=8),
        ),
        max_size=6,
    ),
    st.sampled_from(["", "#", "#frag", "#a?b=c"]),
)


@settings(max_examples=500, deadline=None, database=None)
@given(st.one_of(_URL_PARTS, st.text()))
@example("http://://2")  # a port separator and no host: once came back as http://2
def test_canonical_link_is_idempotent(url: str) -> None:
    once = canonical_link(url)
    assert canonical_link(once) == once


NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def make_item(**changes: object) -> ParsedItem:
    base = ParsedItem(
        title="Council approves new budget",
        link="https://news.example.com/2026/05/budget?utm_source=rss",
        guid="https://news.example.com/?p=1234",
        published=NOW,
        updated=NOW,
        summary="The council voted 7-2.",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("guid_stable", [True, False])
def test_date_churn_never_changes_guid_or_link_keys(guid_stable: bool) -> None:
    first = make_item()
    restamped = make_item(published=NOW + timedelta(hours=5), updated=NOW + timedelta(days=2))

    assert item_dedup_key(first, guid_stable=guid_stable) == item_dedup_key(restamped, guid_stable=guid_stable)


def test_stable_guids_key_on_the_guid() -> None:
    assert item_dedup_key(make_item(), guid_stable=True) == "g:https://news.example.com/?p=1234"


def test_guid_churn_is_absorbed_when_the_feed_is_marked_unstable() -> None:
    first_poll = make_item(guid="a1b2c3")
    second_poll = make_item(guid="d4e5f6")  # a feed that regenerates guids every build

    assert item_dedup_key(first_poll, guid_stable=False) == item_dedup_key(second_poll, guid_stable=False)
    assert item_dedup_key(first_poll, guid_stable=False).startswith("l:")
    # the flag is what makes the difference
    assert item_dedup_key(first_poll, guid_stable=True) != item_dedup_key(second_poll, guid_stable=True)


def test_tracking_parameter_churn_keeps_the_link_key() -> None:
    from_rss = make_item(guid=None, link="https://news.example.com/a?id=9&utm_source=rss")
    from_social = make_item(guid=None, link="https://NEWS.example.com/a?fbclid=zz&id=9#comments")

    key = item_dedup_key(from_rss, guid_stable=False)
    assert key == item_dedup_key(from_social, guid_stable=False)
    assert key == "l:https://news.example.com/a?id=9"


def test_items_without_guid_or_link_key_on_title_and_day() -> None:
    item = make_item(guid=None, link=None)
    same_day_other_time = make_item(
        guid=None,
        link=None,
        title="  COUNCIL approves\nnew budget ",
        published=NOW + timedelta(hours=3),
    )
    next_day = make_item(guid=None, link=None, published=NOW + timedelta(days=1))
    undated = make_item(guid=None, link=None, published=None)

    key = item_dedup_key(item, guid_stable=True)
    assert key.startswith("t:")
    assert len(key) == 2 + 40
    assert key == item_dedup_key(same_day_other_time, guid_stable=True)
    assert key != item_dedup_key(next_day, guid_stable=True)
    assert key != item_dedup_key(undated, guid_stable=True)
    assert item_dedup_key(undated, guid_stable=True) == item_dedup_key(undated, guid_stable=True)


def test_missing_guid_falls_back_to_link_even_when_guids_are_stable() -> None:
    assert item_dedup_key(make_item(guid=None), guid_stable=True).startswith("l:")


def test_overlong_values_are_hashed_to_bounded_keys() -> None:
    huge_guid = make_item(guid="x" * 60_000)
    other_huge_guid = make_item(guid="x" * 59_999 + "y")

    key = item_dedup_key(huge_guid, guid_stable=True)
    assert key.startswith("g:sha1:")
    assert len(key) == len("g:sha1:") + 40
    assert key != item_dedup_key(other_huge_guid, guid_stable=True)
    short = make_item(guid="g" * MAX_KEY_VALUE_LENGTH)
    assert item_dedup_key(short, guid_stable=True) == "g:" + "g" * MAX_KEY_VALUE_LENGTH


def test_two_feeds_one_article_share_the_article_key() -> None:
    from_section_feed = make_item(guid="section-77", link="https://news.example.com/a?utm_source=x")
    from_front_page = make_item(guid="front-12", link="http://news.example.com:80/a#top")
    from_front_page = dataclasses.replace(from_front_page, link="https://news.example.com/a?utm_medium=rss")

    assert article_key(from_section_feed) == article_key(from_front_page)
    assert article_key(from_section_feed) == "https://news.example.com/a"


def test_search_feed_item_matches_the_publishers_own_item() -> None:
    publisher_item = make_item(link="https://www.bbc.com/news/articles/cjjjnxdv188o?at_medium=RSS")
    google_item = make_item(
        link="https://news.google.com/rss/articles/CBMiLmh0dHBz?oc=5",
        source="BBC",
        source_url="https://www.bbc.com/news/articles/cjjjnxdv188o",
    )

    assert article_key(google_item) == article_key(publisher_item)


def test_article_key_is_none_without_a_link() -> None:
    assert article_key(make_item(link=None)) is None


@pytest.mark.parametrize(
    ("guids", "stable"),
    [
        (["a", "b", "c"], True),
        ([], True),
        (["https://x/1", None, "https://x/3"], False),  # one missing
        (["a", "b", "a"], False),  # duplicated
        (["1", "2", "3"], False),  # position counters
        (["17", "abc"], True),  # one short number is not a pattern
        (["4956764", "4956765"], True),  # real ids are long
        (["", "b"], False),  # empty counts as missing
    ],
)
def test_guids_look_stable(guids: list[str | None], stable: bool) -> None:
    assert guids_look_stable(guids) is stable


def test_publisher_url_is_available_from_dedup() -> None:
    assert publisher_url is google_news_publisher_url
