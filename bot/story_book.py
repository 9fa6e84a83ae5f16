"""Story grouping at ingest: the in-memory grouper, persisted so restarts keep stories.

Each stored item gets a ``story_id``. The grouper's open stories are saved in the
``stories`` table in the same transaction as the items, and loaded at startup.
Several worker processes each keep their own grouper; they converge through the
table on restart (a known limit, see the README).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.records import ItemRow
from bot.stories.fingerprint import fingerprint
from bot.stories.grouper import OpenStory, StoryGrouper
from db.repo import stories as story_repo

log = logging.getLogger("storywatch.stories")


def _story_id(article_id: Hashable) -> str:
    return "s" + hashlib.sha1(str(article_id).encode(), usedforsecurity=False).hexdigest()[:20]


class StoryBook:
    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.grouper = StoryGrouper(window=window, make_story_id=_story_id)

    async def load(self, session: AsyncSession, *, now: datetime) -> int:
        states = await story_repo.open_stories(session, since=now - self.window)
        stories = []
        for state in states:
            try:
                stories.append(OpenStory.from_json(state))
            except ValueError:
                log.warning("skipping a malformed stored story")
        self.grouper.load(stories)
        return len(stories)

    async def assign(self, session: AsyncSession, rows: Sequence[ItemRow], *, now: datetime) -> list[ItemRow]:
        """The rows with their story ids set; the touched stories are saved."""
        from dataclasses import replace

        out: list[ItemRow] = []
        touched: dict[str, OpenStory] = {}
        for row in rows:
            published = min(row.published_at or now, now)
            fp = fingerprint(row.title, row.summary, row.article_key or row.link, published)
            assignment = self.grouper.assign(row.keys[0], fp)
            story = self.grouper.get(assignment.story_id)
            if story is not None:
                touched[story.story_id] = story
            out.append(replace(row, story_id=assignment.story_id))
        await story_repo.save_stories(session, [(s.story_id, s.to_json(), s.last_seen) for s in touched.values()])
        return out
