"""One poll cycle: claim due feeds, fetch, parse off the loop, store, match, queue alerts.

The scheduler's tick calls ``dispatch_due_feeds`` with a ``PollContext`` built once at
startup. A feed's items, its new state and the deliveries its items cause are written in
ONE transaction, so a crash anywhere loses nothing and repeats nothing; feeds finishing
together share that transaction (``bot.group_commit``), one statement per kind of row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Collection
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience import AudienceCache, FollowGroups, oldest_first
from bot.clock import utcnow
from bot.delivery.timing import digest_due
from bot.errors import FeedError, FeedParseError, HTTPStatusError
from bot.fetch.fetcher import FeedFetcher, FetchResult
from bot.fetch.schedule import (
    PollPolicy,
    next_delay_after_failure,
    next_delay_after_success,
    should_disable,
)
from bot.follow_matcher import FollowMatcher
from bot.group_commit import GroupCommit, OutcomeWriter
from bot.ingest import AlertDecider, FollowRef, identity_for, plan_item
from bot.metrics import Metrics
from bot.prepare import PreparedFeed, prepare_feed, row_fingerprint
from bot.records import ItemRow
from bot.settings import Settings
from bot.stories.fingerprint import StoryFingerprint
from bot.stories.grouper import OpenStory
from bot.story_book import StoryBook
from bot.tasks import drain_tasks
from db.engine import SessionFactory
from db.repo import deliveries as delivery_repo
from db.repo import digests as digest_repo
from db.repo import feeds as feed_repo
from db.repo import guild_settings as guild_repo
from db.repo import items as item_repo
from db.repo.feeds import ClaimedFeed

log = logging.getLogger("storywatch.poll")
# Items grouped or matched between yields to the event loop. Fifty items of CPU work at
# once held up every other task for tens of milliseconds, and with them the write
# transaction in flight (SQLite's one writer), which waits a loop turn per statement.
CPU_SLICE = 10
# Polls waiting for their write, per fetch slot: beyond it, no new poll starts (back-pressure
# when the database is the slow part; a waiting changed feed holds its parsed items).
WRITE_QUEUE_FACTOR = 4
# Within a tick, claim again once this share of the slots is free (1/4): a claim is a write
# transaction, and one per finished poll would make claims the database's main work.
REFILL_SHARE = 4


@dataclass
class PollContext:
    settings: Settings
    sessions: SessionFactory
    fetcher: FeedFetcher
    parse_pool: Executor | None  # None: parse in a thread (tests, `poll --once`)
    matcher: FollowMatcher
    worker_id: str
    metrics: Metrics = field(default_factory=Metrics)
    on_queued: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    dry_run: bool = False  # `storywatch poll --once`: report, queue nothing
    stories: StoryBook | None = None  # groups coverage into stories (None: no grouping)
    in_flight: set[asyncio.Task[FeedOutcome]] = field(default_factory=set)
    writing: int = 0  # polls in flight past their fetch and parse: waiting for their write
    slot_freed: asyncio.Event = field(default_factory=asyncio.Event)  # a poll left its fetch slot
    dispatcher: asyncio.Task[int] | None = None  # the running dispatch_while_due (keep_dispatching)
    fetch_slots: asyncio.Semaphore = field(init=False)  # see __post_init__
    audience: AudienceCache = field(default_factory=AudienceCache)  # follows of matched queries
    # Feed id -> digests of the items its last stored poll carried (PreparedFeed.digests):
    # the parse pool fingerprints only the others. 8 bytes an item; a hint, never a decision.
    known_items: dict[int, bytes] = field(default_factory=dict)
    outcomes: OutcomeWriter | None = None  # built from sessions and worker_id unless given
    # Stores of changed feeds, several per transaction (dry runs write through _transaction).
    store_writer: GroupCommit[StoreJob, tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        # ``[polling] concurrency`` bounds the polls fetching or parsing; a poll waiting for
        # its write holds no slot, so the polls finishing together can share a transaction
        # beyond that number (with a slot held until the commit, a 304 cycle's outcome
        # batches never passed it, and SQLite's writer paced the cycle).
        self.fetch_slots = asyncio.Semaphore(self.settings.polling.concurrency)
        if self.outcomes is None:
            self.outcomes = OutcomeWriter(self.sessions, self.worker_id)
        if self.store_writer is None:
            # Small batches: on SQLite a batch holds the one writer, and the sender's writes wait.
            self.store_writer = GroupCommit(self.sessions, partial(_write_stores, self), max_batch=10)


@dataclass
class FeedOutcome:
    feed_id: int
    url: str
    status: str  # new | unchanged | failed | disabled | baseline
    new_items: int = 0
    queued: int = 0
    error: str | None = None
    would_alert: list[tuple[str, list[str]]] = field(default_factory=list)  # dry runs


@asynccontextmanager
async def _transaction(ctx: PollContext) -> AsyncIterator[AsyncSession]:
    """A write transaction; in a dry run it is rolled back, so trying a config changes nothing."""
    async with ctx.sessions.begin() as session:
        yield session
        if ctx.dry_run:
            session.expunge_all()  # keep the loaded rows usable after the rollback
            await session.rollback()


def policy_for(settings: Settings, feed_kind: str) -> PollPolicy:
    polling = settings.polling
    if feed_kind == "search":
        interval = settings.search_feeds.interval_seconds
        low, high = interval, max(interval, 4 * interval)
    else:
        interval, low, high = polling.interval_seconds, polling.min_interval, polling.max_interval
    return PollPolicy(
        interval=interval,
        min_interval=low,
        max_interval=high,
        failure_floor=polling.failure_floor_seconds,
        failure_cap=polling.failure_cap_seconds,
        disable_after_failures=polling.disable_after_failures,
    )


async def poll_due_feeds(ctx: PollContext, *, limit: int = 1000) -> list[FeedOutcome]:
    """Claim every due feed (up to ``limit``) and poll them concurrently, bounded."""
    now = ctx.clock()
    lease = timedelta(seconds=ctx.settings.polling.lease)
    async with _transaction(ctx) as session:
        feeds = await feed_repo.claim_due_feeds(session, now=now, worker=ctx.worker_id, lease=lease, limit=limit)
    if not feeds:
        return []
    # Fetching is bounded inside poll_feed; this bounds what waits for a write.
    gate = asyncio.Semaphore(WRITE_QUEUE_FACTOR * ctx.settings.polling.concurrency)

    async def bounded(feed: ClaimedFeed) -> FeedOutcome:
        async with gate:
            return await poll_feed(ctx, feed)

    outcomes = await asyncio.gather(*(bounded(f) for f in feeds))
    if any(o.queued for o in outcomes):
        ctx.on_queued()
    ctx.metrics.set("storywatch_poll_lag_seconds", (ctx.clock() - now).total_seconds())
    return list(outcomes)


async def dispatch_due_feeds(ctx: PollContext) -> int:
    """Start polls for due feeds without waiting for them; returns how many started.

    A cycle never waits for its slowest feed: each call tops the polls that are fetching
    or parsing up to ``[polling] concurrency`` (polls waiting for their write count only
    against ``WRITE_QUEUE_FACTOR`` times it), so one slow server delays nobody and a feed's
    next poll comes one interval after its own poll finished.
    """
    free = _free_slots(ctx)
    return await _dispatch(ctx, free) if free > 0 else 0


async def dispatch_while_due(ctx: PollContext, *, seconds: float) -> int:
    """The scheduler's tick: ``dispatch_due_feeds``, and while a claim took every feed it
    asked for (more may be due), claim again each time a batch of slots is free, for up to
    ``seconds``. Returns how many polls started.

    With one claim per tick, polls that finish in milliseconds (a 304) left their slots
    idle until the next tick: 98 feeds/s at 50 slots and 0.5 s ticks, measured, where the
    same cycle through ``poll_due_feeds`` runs several times faster.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    batch = max(1, ctx.settings.polling.concurrency // REFILL_SHARE)
    started = 0
    while True:
        free = _free_slots(ctx)
        if free > 0:
            count = await _dispatch(ctx, free)
            started += count
            if count < free:
                return started  # no feed is left due; the next tick looks again
        while _free_slots(ctx) < batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return started
            ctx.slot_freed.clear()
            try:
                await asyncio.wait_for(ctx.slot_freed.wait(), remaining)
            except TimeoutError:
                return started
        if loop.time() >= deadline:
            return started


def keep_dispatching(ctx: PollContext, *, seconds: float) -> asyncio.Task[int] | None:
    """The scheduler's tick: start ``dispatch_while_due`` (for up to ``seconds``) as a task
    of its own unless one is still running; returns the task it started, if any.

    The dispatcher outlives the tick, so it claims as slots free for as long as feeds are
    due and the tick returns at once. Bound to the tick, it had to stop claiming early (a
    run still going at the next tick makes APScheduler skip that tick), and the slots that
    polls freed meanwhile idled: 5,000 due feeds of 304s went at a median 950 feeds/s with
    each tick claiming for 0.8 of itself, 1,249 with this (measured side by side).
    """
    if ctx.dispatcher is not None and not ctx.dispatcher.done():
        return None
    task = asyncio.create_task(dispatch_while_due(ctx, seconds=seconds), name="poll-dispatcher")
    task.add_done_callback(_dispatcher_done)
    ctx.dispatcher = task
    return task


def _dispatcher_done(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:  # e.g. the claim query failed
        log.error("claiming due feeds failed; the next tick tries again", exc_info=task.exception())


def _free_slots(ctx: PollContext) -> int:
    concurrency = ctx.settings.polling.concurrency
    fetching = len(ctx.in_flight) - ctx.writing
    return min(concurrency - fetching, WRITE_QUEUE_FACTOR * concurrency - len(ctx.in_flight))


async def _dispatch(ctx: PollContext, free: int) -> int:
    now = ctx.clock()
    async with _transaction(ctx) as session:
        feeds = await feed_repo.claim_due_feeds(
            session,
            now=now,
            worker=ctx.worker_id,
            lease=timedelta(seconds=ctx.settings.polling.lease),
            limit=free,
        )
    for feed in feeds:
        lag = (now - feed.next_poll_at).total_seconds()
        ctx.metrics.set("storywatch_poll_lag_seconds", max(lag, 0.0))
        task = asyncio.create_task(_poll_and_notify(ctx, feed), name=f"poll-feed-{feed.id}")
        ctx.in_flight.add(task)
        task.add_done_callback(partial(_poll_done, ctx))
    return len(feeds)


def _poll_done(ctx: PollContext, task: asyncio.Task[FeedOutcome]) -> None:
    ctx.in_flight.discard(task)
    ctx.slot_freed.set()


async def _poll_and_notify(ctx: PollContext, feed: ClaimedFeed) -> FeedOutcome:
    outcome = await poll_feed(ctx, feed)
    if outcome.queued:
        ctx.on_queued()
    return outcome


async def drain_polls(ctx: PollContext, grace: float) -> None:
    """Shutdown: start no more polls, let running ones finish for ``grace`` seconds, then
    cancel the rest. A claim cut short leaves its feeds leased; the lease expires."""
    if ctx.dispatcher is not None:
        ctx.dispatcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ctx.dispatcher
    await drain_tasks(ctx.in_flight, grace)


async def poll_feed(ctx: PollContext, feed: ClaimedFeed) -> FeedOutcome:
    """Poll one feed; every failure is recorded on the feed, never raised to the cycle."""
    try:
        return await _poll_feed(ctx, feed)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # e.g. the database was busy: this feed retries, the rest go on
        log.warning("poll of a feed failed: %s", exc.__class__.__name__, exc_info=True, extra={"feed_id": feed.id})
        try:
            return await _record_failure(ctx, feed, FeedError(f"internal error: {type(exc).__name__}"), ctx.clock())
        except Exception:
            log.exception("could not record a feed's failure; its lease will expire", extra={"feed_id": feed.id})
            return FeedOutcome(feed.id, feed.url, "failed", error=type(exc).__name__)


async def _poll_feed(ctx: PollContext, feed: ClaimedFeed) -> FeedOutcome:
    started = ctx.clock()
    ctx.metrics.inc("storywatch_polls_total")
    async with ctx.fetch_slots:
        found = await _fetch_and_parse(ctx, feed, started)
    ctx.writing += 1
    ctx.slot_freed.set()  # its fetch slot is free
    try:
        if isinstance(found, FeedError):
            return await _record_failure(ctx, feed, found, started)
        result, parsed = found
        if parsed is None:
            return await _record_unchanged(ctx, feed, result, started)
        return await _store(ctx, feed, result, parsed, started)
    finally:
        ctx.writing -= 1


async def _fetch_and_parse(
    ctx: PollContext, feed: ClaimedFeed, started: datetime
) -> FeedError | tuple[FetchResult, PreparedFeed | None]:
    """The network and the parse: the error, or the response and its parsed feed (None:
    unchanged, by status or by body hash)."""
    try:
        result = await ctx.fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified, trusted=feed.trusted
        )
    except FeedError as exc:
        return exc
    except Exception as exc:  # a bug or an odd library error must not stop other feeds
        log.exception("unexpected error fetching feed", extra={"feed_id": feed.id})
        return FeedError(f"internal error: {type(exc).__name__}")

    if result.status == 304 or result.body is None:
        ctx.metrics.inc("storywatch_fetch_not_modified_total")
        return result, None
    if result.body_sha256 and result.body_sha256 == feed.body_hash:
        ctx.metrics.inc("storywatch_parse_skipped_total")
        return result, None
    try:
        return result, await _parse(ctx, feed.id, result.body, result, started)
    except FeedParseError as exc:
        return exc


def forget_unpolled_feeds(ctx: PollContext, polled: Collection[int]) -> int:
    """Drop the known-items hints of feeds no longer polled (removed or disabled since), so a
    long-running worker does not keep one per feed it ever stored; returns how many went."""
    gone = [feed_id for feed_id in ctx.known_items if feed_id not in polled]
    for feed_id in gone:
        del ctx.known_items[feed_id]
    return len(gone)


async def _parse(ctx: PollContext, feed_id: int, body: bytes, result: FetchResult, now: datetime) -> PreparedFeed:
    job = partial(
        prepare_feed,
        body,
        url=result.final_url,
        fetched_at=now,
        content_type=result.content_type,
        known=ctx.known_items.get(feed_id, b""),
    )
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(ctx.parse_pool, job)
    except FeedParseError:
        raise
    except Exception as exc:  # a crashed worker process, pickling trouble: this feed only
        raise FeedParseError(f"could not parse the feed: {type(exc).__name__}") from None


def _success_values(
    ctx: PollContext,
    feed: ClaimedFeed,
    result: FetchResult,
    now: datetime,
    *,
    changed: bool,
    ttl: int | None,
) -> dict[str, Any]:
    policy = policy_for(ctx.settings, feed.kind)
    delay = next_delay_after_success(
        policy,
        changed=changed,
        current_interval=feed.interval_seconds,
        ttl_floor=float(ttl) if ttl else None,
        cache_max_age=float(result.cache_max_age) if result.cache_max_age else None,
    )
    values: dict[str, Any] = {
        "etag": result.etag,
        "last_modified": result.last_modified,
        "interval_seconds": delay,
        "next_poll_at": now + timedelta(seconds=delay),
        "consecutive_failures": 0,
        "last_polled_at": now,
        "last_success_at": now,
        "last_error": None,
    }
    if result.moved_to and result.moved_to != feed.url:
        values["url"] = result.moved_to
        log.info("feed moved permanently", extra={"feed_id": feed.id, "url": result.moved_to})
    return values


async def _record_unchanged(ctx: PollContext, feed: ClaimedFeed, result: FetchResult, now: datetime) -> FeedOutcome:
    values = _success_values(ctx, feed, result, now, changed=False, ttl=None)
    await _release(ctx, feed, values)
    return FeedOutcome(feed.id, feed.url, "unchanged")


async def _release(ctx: PollContext, feed: ClaimedFeed, values: dict[str, Any]) -> None:
    """Record an outcome that stores no items: batched with the other polls finishing now."""
    if ctx.dry_run or ctx.outcomes is None:  # a dry run writes nothing
        return
    if not await ctx.outcomes.release(feed.id, values):
        _lost_lease(feed)


def _lost_lease(feed: ClaimedFeed) -> None:
    log.warning("lost the lease on a feed while polling it", extra={"feed_id": feed.id})


async def _record_failure(ctx: PollContext, feed: ClaimedFeed, error: FeedError, now: datetime) -> FeedOutcome:
    policy = policy_for(ctx.settings, feed.kind)
    failures = feed.consecutive_failures + 1
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    delay = next_delay_after_failure(
        policy,
        consecutive_failures=failures,
        current_interval=feed.interval_seconds,
        retry_after=retry_after,
        rng=ctx.rng,
    )
    message = str(error) or error.kind
    values: dict[str, Any] = {
        "consecutive_failures": failures,
        "next_poll_at": now + timedelta(seconds=delay),
        "last_polled_at": now,
        "last_error": message[:500],
        "last_error_at": now,
    }
    status = "failed"
    gone = isinstance(error, HTTPStatusError) and error.status == 410
    if gone or should_disable(policy, failures):
        values["enabled"] = False
        values["disabled_reason"] = (
            "the server answered 410 Gone" if gone else f"{failures} failures in a row; last: {message}"
        )[:500]
        status = "disabled"
    ctx.metrics.inc("storywatch_fetch_errors_total", kind=error.kind)
    log.warning(
        "feed poll failed: %s",
        message,
        extra={"feed_id": feed.id, "failures": failures, "next_in": round(delay)},
    )
    await _release(ctx, feed, values)
    return FeedOutcome(feed.id, feed.url, status, error=message)


async def _store(
    ctx: PollContext, feed: ClaimedFeed, result: FetchResult, parsed: PreparedFeed, now: datetime
) -> FeedOutcome:
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
        values = _success_values(ctx, feed, result, now, changed=changed, ttl=parsed.ttl_seconds)
        values.update(body_hash=result.body_sha256, baseline_done=True, guid_stable=parsed.guid_stable)
        if parsed.title and not feed.title:
            values["title"] = parsed.title[:500]
        return values

    job = StoreJob(feed, fresh, hits, audience, outcome, now, state, stories)
    if ctx.dry_run or ctx.store_writer is None:
        async with _transaction(ctx) as session:
            [(stored, outcome.queued)] = await _write_stores(ctx, session, [job])
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


async def _write_stores(ctx: PollContext, session: AsyncSession, jobs: list[StoreJob]) -> list[tuple[int, int]]:
    """The items, alerts, stories and new state of several changed feeds, in the caller's transaction
    (a crash keeps all or none), with one statement per kind of row for the whole batch.
    Returns (items stored, alerts queued) per job."""
    stored = await item_repo.record_items_of_feeds(session, [(job.feed.id, job.fresh, job.now) for job in jobs])
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
    if ctx.stories is not None:
        # With their items: a crash never keeps items whose story a restart forgets.
        await ctx.stories.save_latest(session, [story for job in jobs for story in job.stories])
    for job in jobs:
        if job.feed.id in lost and not ctx.dry_run:
            _lost_lease(job.feed)
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
