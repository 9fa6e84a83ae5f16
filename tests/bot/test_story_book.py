"""Story state saved with the items: one row per story, in its latest state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.stories import fingerprint
from bot.story_book import StoryBook
from db.engine import SessionFactory
from tests.support.item_rows import item_row

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def test_stories_saved_together_in_their_latest_state(sessions: SessionFactory) -> None:
    book = StoryBook(timedelta(hours=48))
    titles = ["Kim Kardashian wedding date set", "Kim Kardashian wedding date set for May", "Oscars host named"]
    rows = [
        item_row(f"g:{n}", t, link=f"https://n.test/{n}", article_key=f"https://n.test/{n}", published=NOW)
        for n, t in enumerate(titles)
    ]
    prints = [fingerprint(t, "", r.link, NOW) for r, t in zip(rows, titles, strict=True)]
    # Two polls: the first grew the wedding story to one article, the second to two.
    [first], first_stories = book.assign(rows[:1], prints[:1])
    [second, third], second_stories = book.assign(rows[1:], prints[1:])
    assert first.story_id == second.story_id != third.story_id
    # The older snapshot comes last, as when two polls' writes share a transaction.
    async with sessions.begin() as s:
        await book.save_latest(s, [*second_stories, *first_stories])
    reloaded = StoryBook(timedelta(hours=48))
    async with sessions() as s:
        assert await reloaded.load(s, now=NOW) == 2
    wedding = reloaded.grouper.get(first.story_id or "")
    assert wedding is not None and wedding.article_count == 2  # not the first poll's snapshot
