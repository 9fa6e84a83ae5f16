"""Story grouping at ingest: the in-memory grouper, persisted so restarts keep stories.

Each stored item gets a ``story_id``. Assignment is in memory (no I/O, so no database
transaction waits on it); the touched stories are saved in the transaction that writes
their items, in a fixed order so concurrent workers never deadlock on them. Several
worker processes each keep their own grouper and take in the stories the others saved
every few seconds (``sync``): the same story's later coverage then joins it whichever
worker polls it.

Between two syncs, two workers can each open a story for the same news (two outlets' first
articles, polled by different workers). The transactions that save new stories take one
lock (``fold_new``), so the later of the two sees the earlier's story and folds its own
into it before anything is alerted: one story, one thread, one ping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint
from bot.stories.grouper import StoryGrouper
from bot.stories.merge import merge_stories
from bot.stories.open_story import OpenStory
from db import locks
from db.engine import SessionFactory
from db.repo import stories as story_repo

log = logging.getLogger("storywatch.stories")


def _story_id(article_id: Hashable) -> str:
    return "s" + hashlib.sha1(str(article_id).encode(), usedforsecurity=False).hexdigest()[:20]


# How far back each sync reads again: a story stamped (by the database's clock) before the
# last sync read may commit after it. Its worker commits right after the save, so a few
# seconds would do; what is read twice is skipped unparsed.
SYNC_OVERLAP = timedelta(seconds=10)
# Stories taken in between yields to the event loop (about 7 ms of work on a slow machine).
SYNC_SLICE = 25
# How long a story this worker opened waits for its save before ``fold_new`` stops
# considering it (a poll writes within seconds; a failed write never saves it), and how
# long a folded story's id is redirected for polls that assigned to it before the fold.
UNSAVED_SECONDS = 600.0


class StoryBook:
    def __init__(self, window: timedelta, *, worker_id: str = "") -> None:
        self.window = window
        self.worker_id = worker_id  # stamped on the stories this process saves
        self.grouper = StoryGrouper(window=window, make_story_id=_story_id)
        self._synced_to: datetime | None = None  # the save clock when the last sync read
        self._loaded_at: datetime | None = None  # the save clock when ``load`` read
        self._opened_read: datetime | None = None  # the save clock at fold_new's last read
        self._taken: dict[str, datetime] = {}  # story id -> its save taken in, within the overlap
        self._takes = 0  # take-ins so far: orders them against the stories this worker opens
        # Other workers' stories -> the take-in that last brought articles of theirs that
        # this worker lacked (what its own new stories could not be compared with), oldest first.
        self._taken_in: dict[str, int] = {}
        # Stories this worker opened and has not saved -> (take-ins before, monotonic time).
        self._unsaved: dict[str, tuple[int, float]] = {}
        self._folded: dict[str, tuple[str, float]] = {}  # folded id -> (its target, when)
        self.taken_in = 0  # other workers' stories merged in, ever (sync and fold_new)
        self.folds = 0  # own stories folded into another worker's, ever

    async def load(self, session: AsyncSession, *, now: datetime) -> int:
        self._synced_to = self._loaded_at = await story_repo.save_clock(session)
        states = await story_repo.open_stories(session, since=now - self.window)
        stories = []
        for state in states:
            try:
                stories.append(OpenStory.from_json(state))
            except ValueError:
                log.warning("skipping a malformed stored story")
        self.grouper.load(stories)
        return len(stories)

    async def sync(self, sessions: SessionFactory) -> int:
        """Take in the stories other workers saved since the last sync (``take_in``), a
        slice at a time and with the read's session closed: a burst of saves is hundreds
        of stories, and the polls' own grouping on this event loop yields as often."""
        async with sessions() as session:
            now = await story_repo.save_clock(session)
            since = None if self._synced_to is None else self._synced_to - SYNC_OVERLAP
            saved = await story_repo.saved_by_others(session, worker=self.worker_id, since=since)
        self._synced_to = now
        changed = 0
        for start in range(0, len(saved), SYNC_SLICE):
            changed += self._take(saved[start : start + SYNC_SLICE])
            await asyncio.sleep(0)
        self._forget_before(now)
        return changed

    def take_in(self, saved: Sequence[tuple[str, str, datetime]], *, now: datetime) -> int:
        """Other workers' saves, (story id, state, saved at), merged with this worker's
        state of the same story (``merge_stories``); ``now``: the save clock before they
        were read. Returns how many stories changed."""
        changed = self._take(saved)
        self._forget_before(now)
        return changed

    def _take(self, saved: Sequence[tuple[str, str, datetime]]) -> int:
        self._takes += 1
        stories: list[OpenStory] = []
        grown: list[str] = []  # stories the other worker added articles to that this one lacked
        for story_id, state, saved_at in saved:
            if self._taken.get(story_id) == saved_at:
                continue  # read again within the overlap
            self._taken[story_id] = saved_at
            mine = self.grouper.get(story_id)
            # Most of their representatives are ours too: serializing ours is cheaper than
            # parsing theirs (a fingerprint rebuilds its word sets).
            known = {rep.to_json(): rep for rep in mine.representatives} if mine is not None else None
            try:
                theirs = OpenStory.from_json(state, known)
            except ValueError:
                log.warning("skipping a malformed stored story", extra={"story_id": story_id})
                continue
            if mine is None:
                stories.append(theirs)
                grown.append(story_id)
            elif (merged := merge_stories(mine, theirs)) != mine:
                stories.append(merged)
                # A save from before this worker loaded holds nothing it has not seen, even
                # representatives its copy has dropped since (a restart reads them again).
                seen_at_load = self._loaded_at is not None and saved_at <= self._loaded_at
                if not seen_at_load and not set(theirs.representatives) <= set(mine.representatives):
                    grown.append(story_id)
        self.grouper.load(stories)
        self.taken_in += len(stories)
        for story_id in grown:  # kept in take-in order: fold_new reads the newest ones
            self._taken_in.pop(story_id, None)
            self._taken_in[story_id] = self._takes
        return len(stories)

    def _forget_before(self, now: datetime) -> None:
        horizon = now - SYNC_OVERLAP  # what the next sync can read again
        self._taken = {key: at for key, at in self._taken.items() if at > horizon}

    def assign(
        self, rows: Sequence[ItemRow], prints: Sequence[StoryFingerprint]
    ) -> tuple[list[ItemRow], list[OpenStory]]:
        """The rows with their story ids set, and the stories to save."""
        out: list[ItemRow] = []
        touched: dict[str, OpenStory] = {}
        for row, fp in zip(rows, prints, strict=True):
            assignment = self.grouper.assign(row.keys[0], fp)
            if assignment.is_new:
                self._unsaved[assignment.story_id] = (self._takes, time.monotonic())
            story = self.grouper.get(assignment.story_id)
            if story is not None:
                touched[story.story_id] = story
            out.append(replace(row, story_id=assignment.story_id))
        return out, [touched[key] for key in sorted(touched)]

    async def fold_new(self, session: AsyncSession, stories: Sequence[OpenStory]) -> dict[str, str]:
        """In the write transaction that will save ``stories``: fold each of them this
        worker opened and has not saved into the story of the same news another worker
        saved since (``StoryGrouper.fold``), and return {folded id: its target}.

        The transaction takes the story-opening lock, then reads the others' saves, so of
        two workers opening the same story, the one that commits second folds. Only
        stories taken in after the folded one opened are targets: the older ones were there
        when its first article was assigned, and did not take it. Call it last before the
        commit: other workers' writes of new stories wait for the lock meanwhile."""
        now = time.monotonic()
        self._forget_unsaved_before(now - UNSAVED_SECONDS)
        opened = sorted({story.story_id for story in stories if story.story_id in self._unsaved})
        if not opened:
            return {}
        await locks.hold(session, locks.STORY_OPENING)
        # Another worker's new stories were saved under this lock, so after this worker's
        # last read under it: no overlap needed, and the read stays small in a burst.
        clock = await story_repo.save_clock(session)
        since = self._opened_read
        if self._synced_to is not None:  # what the sync read (less its overlap) is in too
            synced = self._synced_to - SYNC_OVERLAP
            since = synced if since is None else max(since, synced)
        self._take(await story_repo.saved_by_others(session, worker=self.worker_id, since=since))
        self._opened_read = clock
        folded: dict[str, str] = {}
        later_than: dict[int, set[str]] = {}  # take-in count -> the stories taken in since
        for story_id in opened:
            takes, _opened_at = self._unsaved[story_id]
            if takes not in later_than:  # most stories a write saves opened between the same take-ins
                later_than[takes] = self._taken_in_after(takes)
            later = later_than[takes]
            target = self.grouper.fold(story_id, into=later) if later else None
            if target is not None:
                folded[story_id] = target
                self._folded[story_id] = (target, now)
                self.folds += 1
                del self._unsaved[story_id]
                log.info("story folded into another worker's", extra={"story_id": story_id, "into": target})
        return folded

    def _taken_in_after(self, takes: int) -> set[str]:
        later: set[str] = set()
        for story_id, at in reversed(self._taken_in.items()):
            if at <= takes:
                break
            later.add(story_id)
        return later

    def _forget_unsaved_before(self, cutoff: float) -> None:
        self._unsaved = {key: value for key, value in self._unsaved.items() if value[1] >= cutoff}
        self._folded = {key: value for key, value in self._folded.items() if value[1] >= cutoff}
        # Take-ins no unsaved story can fold into any more.
        floor = min((takes for takes, _at in self._unsaved.values()), default=self._takes)
        while self._taken_in:
            oldest = next(iter(self._taken_in))
            if self._taken_in[oldest] > floor:
                break
            del self._taken_in[oldest]

    def story_of(self, story_id: str) -> str:
        """The story an assigned id stands for now: a folded story's target."""
        folded = self._folded.get(story_id)
        return story_id if folded is None else folded[0]

    def redirected(self, rows: Sequence[ItemRow]) -> list[ItemRow]:
        """The rows with folded stories' ids replaced by their targets' (polls that
        assigned to a story before another poll's write folded it)."""
        if not self._folded:
            return list(rows)
        return [
            replace(row, story_id=self.story_of(row.story_id)) if row.story_id in self._folded else row for row in rows
        ]

    def latest(self, stories: Sequence[OpenStory]) -> list[OpenStory]:
        """The grouper's current state of these stories (other polls may have grown them
        since, or folded them into another), without the ones it has closed meanwhile."""
        current = (self.grouper.get(self.story_of(story.story_id)) for story in stories)
        return [story for story in current if story is not None]

    async def save_latest(self, session: AsyncSession, stories: Sequence[OpenStory]) -> None:
        """Save these stories once each, in their current state (several polls written
        together often grew the same story), in id order: two workers saving the same
        stories never deadlock."""
        by_id = {story.story_id: story for story in self.latest(stories)}
        await self.save(session, [by_id[key] for key in sorted(by_id)])

    async def save(self, session: AsyncSession, stories: Sequence[OpenStory]) -> None:
        await story_repo.save_stories(
            session, [(s.story_id, s.to_json(), s.last_seen) for s in stories], saved_by=self.worker_id
        )
        for story in stories:
            self._unsaved.pop(story.story_id, None)
