"""The store half of a changed feed's poll: which items are new, their stories, their
matches and who hears of them, then one write of items, alerts, stories and feed state for
the feeds finishing together (``bot.group_commit``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience import FollowGroups, oldest_first
from bot.delivery.timing import digest_due
from bot.fetch.fetcher import FetchResult
from bot.ingest import AlertDecider, FollowRef, identity_for, plan_item
from bot.poll_outcome import FeedOutcome, lost_lease, success_values, write_transaction
from bot.prepare import PreparedFeed, row_fingerprint
from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint
from bot.stories.open_story import OpenStory
from bot.story_book import StoryBook
from db.repo import deliveries as delivery_repo
from db.repo import digests as digest_repo
from db.repo import feeds as feed_repo
from db.repo import guild_settings as guild_repo
from db.repo import items as item_repo
from db.repo.feeds import ClaimedFeed

if TYPE_CHECKING:
    from bot.polling import PollContext

log = logging.getLogger("storywatch.poll")
# Items grouped or matched between yields to the event loop. Fifty items of CPU work at
# once held up every other task for tens of milliseconds, and with them the write
# transaction in flight (SQLite's one writer), which waits a loop turn per statement.
CPU_SLICE = 10


async def store_new_items(
    ctx: PollContext, feed: ClaimedFeed, result: FetchResult, parsed: PreparedFeed, now: datetime
) -> FeedOutcome:
    """A changed feed after its parse: the items not seen before, grouped into stories and
    matched, written with the alerts they cause and the feed's new state (batched with the
    other feeds finishing now). A feed's first poll stores its items and alerts nobody."""
    decider = AlertDecider(
        now=now,
        max_age=timedelta(hours=ctx.settings.polling.max_item_age_hours),
        baseline=not feed.baseline_done,
    )
    outcome = FeedOutcome(feed.id, feed.url, "baseline" if decider.baseline else "new")
    # Read, then think, then write: no CPU work happens while the write lock is held.
    async with ctx.sessions() as session:
        fresh = await item_repo.unseen(session, feed.id, parsed.rows)
    stories: list[OpenStory] = []
    if ctx.stories is not None and fresh and not ctx.dry_run:
        prints = dict(zip((row.keys[0] for row in parsed.rows), parsed.fingerprints, strict=True))
        # A new row the pool took for known (the hint was stale: a write failed, another
        # worker polled the feed) is fingerprinted here.
        fresh_prints = [prints[row.keys[0]] or row_fingerprint(row, now) for row in fresh]
        fresh, stories = await _assign_stories(ctx.stories, fresh, fresh_prints)
    hits: dict[str, set[str]] = {}
    if len(ctx.matcher):
        for index, row in enumerate(fresh, start=1):
            if decider.should_alert(row.published_at):
                found = ctx.matcher.match(row.title, row.summary, row.categories)
                if found:
                    hits[row.keys[0]] = found
            if index % CPU_SLICE == 0:
                await asyncio.sleep(0)
    audience = None
    if hits:  # who sees these items: read now, so the write transaction below only writes
        async with ctx.sessions() as session:
            audience = await _audience(ctx, session, feed, set().union(*hits.values()))

    def state(changed: bool) -> dict[str, Any]:
        """The feed's new columns, once it is known whether any item was new."""
        values = success_values(ctx, feed, result, now, changed=changed, ttl=parsed.ttl_seconds)
        values.update(body_hash=result.body_sha256, baseline_done=True, guid_stable=parsed.guid_stable)
        if parsed.title and not feed.title:
            values["title"] = parsed.title[:500]
        return values

    job = StoreJob(feed, fresh, hits, audience, outcome, now, state, stories)
    if ctx.dry_run or ctx.store_writer is None:
        async with write_transaction(ctx) as session:
            [(stored, outcome.queued)] = await write_stores(ctx, session, [job])
    else:
        stored, outcome.queued = await ctx.store_writer.submit(job)
    outcome.new_items = stored
    ctx.metrics.inc("storywatch_items_stored_total", stored)
    if not ctx.dry_run:
        ctx.known_items[feed.id] = parsed.digests
    if stored:
        log.info(
            "feed polled: %d new items, %d alerts queued",
            stored,
            outcome.queued,
            extra={"feed_id": feed.id},
        )
    return outcome


@dataclass
class Audience:
    """Who may hear of a feed's matched items: the follows of the matched queries, the
    servers that see the feed (None: all), and the time zones of servers with digests."""

    groups: FollowGroups
    visible: set[int] | None
    zones: dict[int, str]

    def follows_of(self, queries: set[str]) -> list[FollowRef]:
        # An item matches a few queries; planning it walks only their follows, not the
        # feed's whole audience (hundreds of follows, once per matched item).
        return oldest_first(self.groups, queries)


async def _audience(ctx: PollContext, session: AsyncSession, feed: ClaimedFeed, queries: set[str]) -> Audience:
    groups = await ctx.audience.groups_of(session, queries)
    visible = await feed_repo.guilds_seeing_feed(session, feed)
    held = {ref.guild_id for pairs in groups.values() for _follow_id, ref in pairs if ref.delivery != "instant"}
    zones = {guild_id: await _guild_zone(ctx, session, guild_id) for guild_id in sorted(held)}
    return Audience(groups, visible, zones)


async def _assign_stories(
    book: StoryBook, rows: list[ItemRow], prints: list[StoryFingerprint]
) -> tuple[list[ItemRow], list[OpenStory]]:
    """Story grouping a slice at a time, yielding to the loop in between."""
    assigned: list[ItemRow] = []
    touched: dict[str, OpenStory] = {}
    for start in range(0, len(rows), CPU_SLICE):
        done, stories = book.assign(rows[start : start + CPU_SLICE], prints[start : start + CPU_SLICE])
        assigned += done
        touched.update((story.story_id, story) for story in stories)
        await asyncio.sleep(0)
    return assigned, list(touched.values())  # StoryBook.save_latest orders them


@dataclass
class StoreJob:
    """What one changed feed writes: its new items, their alerts, its new state."""

    feed: ClaimedFeed
    fresh: list[ItemRow]
    hits: dict[str, set[str]]  # first key of an alertable row -> the queries it matched
    audience: Audience | None
    outcome: FeedOutcome
    now: datetime
    state: Callable[[bool], dict[str, Any]]  # the feed's new columns, given "items were new"
    stories: list[OpenStory]  # the stories its items joined or opened


async def write_stores(ctx: PollContext, session: AsyncSession, jobs: list[StoreJob]) -> list[tuple[int, int]]:
    """The items, alerts, stories and new state of several changed feeds, in the caller's transaction
    (a crash keeps all or none), with one statement per kind of row for the whole batch.
    Returns (items stored, alerts queued) per job."""
    book = ctx.stories
    fresh = [job.fresh if book is None else book.redirected(job.fresh) for job in jobs]
    stored = await item_repo.record_items_of_feeds(
        session, [(job.feed.id, rows, job.now) for job, rows in zip(jobs, fresh, strict=True)]
    )
    deliveries: list[list[delivery_repo.NewDelivery]] = []  # per job
    digests: list[digest_repo.NewDigestEntry] = []
    for job, inserted in zip(jobs, stored, strict=True):
        matched = [(item_id, row, job.hits[row.keys[0]]) for item_id, row in inserted if row.keys[0] in job.hits]
        new: list[delivery_repo.NewDelivery] = []
        if matched and job.audience is not None:
            new, held = _plan_alerts(ctx, job.audience, matched, job.now, job.outcome)
            digests += held
        deliveries.append(new)
    queued = [0] * len(jobs)
    if not ctx.dry_run:
        queued_at = ctx.clock()
        await digest_repo.add_entries(session, digests, now=queued_at)
        queued = await delivery_repo.enqueue_groups(session, deliveries, now=queued_at)
    states = [(job.feed.id, job.state(bool(inserted))) for job, inserted in zip(jobs, stored, strict=True)]
    lost = await feed_repo.release_feeds(session, ctx.worker_id, states)
    if book is not None:
        # Last, as fold_new's lock is held until the commit: other workers' writes wait.
        stories = [story for job in jobs for story in job.stories]
        if folded := await book.fold_new(session, stories):
            written = (pair for rows in stored for pair in rows)
            moved = {item_id: folded[row.story_id] for item_id, row in written if row.story_id in folded}
            await item_repo.move_to_stories(session, moved)
        # With their items: a crash never keeps items whose story a restart forgets.
        await book.save_latest(session, stories)
    for job in jobs:
        if job.feed.id in lost and not ctx.dry_run:
            lost_lease(job.feed)
    return [(len(inserted), count) for inserted, count in zip(stored, queued, strict=True)]


def _plan_alerts(
    ctx: PollContext,
    audience: Audience,
    hits: list[tuple[int, ItemRow, set[str]]],
    now: datetime,
    outcome: FeedOutcome,
) -> tuple[list[delivery_repo.NewDelivery], list[digest_repo.NewDigestEntry]]:
    """Who gets which matched item, and how: channel alerts, DMs, digest entries."""
    matched: dict[int, set[str]] = {item_id: found for item_id, _row, found in hits}
    ctx.metrics.inc("storywatch_matches_total", len(matched))
    rows = {item_id: row for item_id, row, _found in hits}
    new: list[delivery_repo.NewDelivery] = []
    digests: list[digest_repo.NewDigestEntry] = []
    zones = audience.zones
    for item_id, found in matched.items():
        identity = identity_for(rows[item_id].article_key, item_id)
        plan = plan_item(audience.follows_of(found), visible_guilds=audience.visible, matched=found)
        for alert in plan.channels:
            new.append(
                delivery_repo.NewDelivery(
                    item_id=item_id,
                    guild_id=alert.guild_id,
                    channel_id=alert.channel_id,
                    article_identity=identity,
                    user_ids=alert.user_ids,
                    queries=alert.queries,
                )
            )
            if ctx.dry_run:
                outcome.would_alert.append((rows[item_id].title, [f"<#{alert.channel_id}>"]))
        for ref in plan.direct:
            new.append(
                delivery_repo.NewDelivery(
                    item_id=item_id,
                    guild_id=ref.guild_id,
                    channel_id=ref.user_id,
                    article_identity=identity,
                    user_ids=(ref.user_id,),
                    queries=(ref.query,),
                    kind="dm",
                )
            )
        for ref in plan.digests:
            digests.append(
                digest_repo.NewDigestEntry(
                    guild_id=ref.guild_id,
                    channel_id=ref.channel_id,
                    user_id=ref.user_id,
                    item_id=item_id,
                    query=ref.query,
                    period=ref.delivery,
                    dm=ref.dm,
                    due_at=digest_due(
                        ref.delivery,
                        now,
                        tz=zones[ref.guild_id],
                        digest_time=ctx.settings.alerts.digest_time,
                    ),
                )
            )
    return new, digests


async def _guild_zone(ctx: PollContext, session: AsyncSession, guild_id: int) -> str:
    row = await guild_repo.get(session, guild_id)
    return (row.timezone if row and row.timezone else None) or ctx.settings.alerts.timezone
