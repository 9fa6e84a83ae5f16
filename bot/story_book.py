"""Story grouping at ingest: the in-memory grouper, persisted so restarts keep stories.

Each stored item gets a ``story_id``. Assignment is in memory (no I/O, so no database
transaction waits on it); the touched stories are saved in the transaction that writes
their items, in a fixed order so concurrent workers never deadlock on them. Several
worker processes each keep their own grouper; they converge through the table on
restart (a known limit, see the README).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint
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

    def assign(
        self, rows: Sequence[ItemRow], prints: Sequence[StoryFingerprint]
    ) -> tuple[list[ItemRow], list[OpenStory]]:
        """The rows with their story ids set, and the stories to save."""
        out: list[ItemRow] = []
        touched: dict[str, OpenStory] = {}
        for row, fp in zip(rows, prints, strict=True):
            assignment = self.grouper.assign(row.keys[0], fp)
            story = self.grouper.get(assignment.story_id)
            if story is not None:
                touched[story.story_id] = story
            out.append(replace(row, story_id=assignment.story_id))
        return out, [touched[key] for key in sorted(touched)]

    def latest(self, stories: Sequence[OpenStory]) -> list[OpenStory]:
        """The grouper's current state of these stories (other polls may have grown them
        since), without the ones it has closed meanwhile."""
        current = (self.grouper.get(story.story_id) for story in stories)
        return [story for story in current if story is not None]

    async def save_latest(self, session: AsyncSession, stories: Sequence[OpenStory]) -> None:
        """Save these stories once each, in their current state (several polls written
        together often grew the same story), in id order: two workers saving the same
        stories never deadlock."""
        by_id = {story.story_id: story for story in stories}
        await self.save(session, self.latest([by_id[key] for key in sorted(by_id)]))

    @staticmethod
    async def save(session: AsyncSession, stories: Sequence[OpenStory]) -> None:
        await story_repo.save_stories(session, [(s.story_id, s.to_json(), s.last_seen) for s in stories])
