"""/latest's search: the full-text prefilter plus the exact matcher, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest import search_text_of
from bot.query.document import MatchDoc
from bot.query.matcher import matches
from bot.query.parser import parse_query
from bot.records import ItemRow
from db.engine import SessionFactory
from db.models import Item
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from tests.support.item_rows import item_row

NOW = datetime(2014, 5, 28, tzinfo=UTC)
TITLES = [
    "Kim Kardashian, Kanye West loved up in first wedding photos",
    "Kimono week opens in Kyoto",
    "Kanye's new album leaks",
    "Kim's wedding dress: every detail",
    "Beyoncé and Jay-Z skip the Kardashian wedding",
    "Kris Jenner plans a Rob Kardashian intervention",
    "Jimmy Kimmel mocks the Kimye wedding",
    "Apollo 11 anniversary: the moon landing remembered",
    "The Kims' holiday in Ireland",
    "Divorce rumours: Kim and Kanye deny split",
]


def rows() -> list[ItemRow]:
    return [
        item_row(
            f"g:{i}",
            title,
            link=f"https://n.test/{i}",
            published=NOW - timedelta(hours=i),
            search_text=search_text_of(title, "", ()),
        )
        for i, title in enumerate(TITLES)
    ]


def exact(item: Item, query_text: str) -> bool:
    return matches(parse_query(query_text), MatchDoc.from_article(item.title, item.summary, ()))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kim kanye", [0, 9]),
        ("kim", [0, 3, 8, 9]),
        ("beyonce", [4]),
        ("jay-z", [4]),
        ('"apollo 11"', [7]),
        ("kardashian -rob", [0, 4]),
        ("divorc*", [9]),
        ("kanye OR kimye", [0, 2, 6, 9]),
        ("kimmel", [6]),
    ],
)
async def test_search_finds_exactly_what_the_matcher_accepts(
    sessions: SessionFactory, query: str, expected: list[int]
) -> None:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url="http://f.test/", name="F", kind="config", trusted=True, interval=60, now=NOW
        )
        await item_repo.record_items(s, feed.id, rows(), now=NOW)
    parsed = parse_query(query)
    async with sessions() as s:
        found = await item_repo.search_items(s, [feed.id], [parsed], accept=lambda item: exact(item, query), limit=20)
    assert [TITLES.index(i.title) for i in found] == expected


async def test_search_pages_newest_first(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url="http://f.test/", name="F", kind="config", trusted=True, interval=60, now=NOW
        )
        await item_repo.record_items(s, feed.id, rows(), now=NOW)
    parsed = parse_query("kim")
    async with sessions() as s:
        first = await item_repo.search_items(s, [feed.id], [parsed], accept=lambda i: exact(i, "kim"), limit=2)
        second = await item_repo.search_items(
            s, [feed.id], [parsed], accept=lambda i: exact(i, "kim"), limit=2, offset=2
        )
    assert [TITLES.index(i.title) for i in first + second] == [0, 3, 8, 9]
