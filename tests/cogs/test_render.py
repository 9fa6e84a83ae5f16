"""Command replies as members read them: numbering, whole masked links, the follow preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.follow_service import LATEST_PAGE_SIZE, FollowResult, LatestLine, LatestPage
from cogs.render import REPLY_LIMIT, follow_reply, latest_lines

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def line(n: int, *, link: str | None = None, title: str | None = None, **story: int) -> LatestLine:
    return LatestLine(
        item_id=n,
        title=title or f"Story {n}",
        link=link if link is not None else f"https://pub.test/{n}",
        source="Pub",
        at=NOW - timedelta(hours=n),
        alerted_here=False,
        **story,
    )


def test_a_later_page_numbers_on_from_the_pages_before_it() -> None:
    # The last page is short: its numbers still follow the full pages before it.
    text = latest_lines(LatestPage([line(11), line(12)], page=1, has_more=False, queries=["story"]), NOW)

    assert [row.split(".")[0] for row in text.splitlines()] == [
        str(LATEST_PAGE_SIZE + 1),
        str(LATEST_PAGE_SIZE + 2),
    ]


def test_lines_that_do_not_fit_are_left_out_whole() -> None:
    long_link = "https://pub.test/" + "a" * 600
    page = LatestPage([line(n, link=f"{long_link}/{n}") for n in range(1, 11)], page=0, has_more=False, queries=["x"])

    text = latest_lines(page, NOW)

    rows = text.splitlines()
    assert len(text) <= REPLY_LIMIT
    assert 1 <= len(rows) < 10
    # Every kept line is whole: its masked link closes and its age ends it.
    assert all(f"/{n}>)" in row and row.endswith("h ago") for n, row in enumerate(rows, start=1))


def test_the_follow_reply_shows_what_the_follow_would_have_caught() -> None:
    result = FollowResult(
        query="kim kanye",
        created=True,
        search_feed=False,
        recent=(line(1, title="Kim *and* Kanye"), line(2)),
    )

    text = follow_reply(result, delivery="instant", dm=False, now=NOW)

    assert text.splitlines() == [
        "✅ Following `kim kanye` in this channel. New matching articles will reach you here.",
        "The newest it would have caught:",
        r"1. [Kim \*and\* Kanye](<https://pub.test/1>) (pub.test) — Pub, 1h ago",
        "2. [Story 2](<https://pub.test/2>) (pub.test) — Pub, 2h ago",
    ]


def test_the_follow_reply_says_when_nothing_stored_matches_yet() -> None:
    result = FollowResult(query="apollo", created=False, search_feed=False)

    text = follow_reply(result, delivery="daily", dm=True, now=NOW)

    assert text.splitlines() == [
        "✅ You already follow `apollo` in this channel as a daily digest. "
        "New matching articles will reach you by direct message.",
        "No stored article matches it yet.",
    ]


def test_a_storys_line_counts_its_other_coverage_and_points_to_its_thread() -> None:
    page = LatestPage([line(1, more=4, thread_id=777), line(2, more=1), line(3)], page=0, has_more=False, queries=["x"])

    assert [row.split(" — ")[1] for row in latest_lines(page, NOW).splitlines()] == [
        "Pub, 1h ago · +4 more on this story · <#777>",
        "Pub, 2h ago · +1 more on this story",
        "Pub, 3h ago",
    ]
