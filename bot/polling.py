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
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot.audience import AudienceCache
from bot.clock import utcnow
from bot.errors import FeedError, FeedParseError
from bot.fetch.fetcher import FeedFetcher, FetchResult
from bot.follow_matcher import FollowMatcher
from bot.group_commit import GroupCommit, OutcomeWriter
from bot.metrics import Metrics
from bot.poll_outcome import FeedOutcome, record_failure, record_unchanged, write_transaction
from bot.poll_store import StoreJob, store_new_items, write_stores
from bot.prepare import PreparedFeed, prepare_feed
from bot.settings import Settings
from bot.story_book import StoryBook
from bot.tasks import drain_tasks
from db.engine import SessionFactory
from db.repo import feeds as feed_repo
from db.repo.feeds import ClaimedFeed

log = logging.getLogger("storywatch.poll")
# Polls waiting for their write, per fetch slot: beyond it, no new poll starts (back-pressure
# when the database is the slow part; a waiting changed feed holds its parsed items).
WRITE_QUEUE_FACTOR = 4
# Within a tick, claim again once this share of the slots is free (1/4): a claim is a write
# transaction, and one per finished poll would make claims the database's main work.
REFILL_SHARE = 4
# A dispatcher's claim takes this many times ``concurrency`` feeds beyond the free slots;
# they wait in ``PollContext.claimed`` and start as slots free, without a claim each time.
CLAIM_AHEAD = 1


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
    # Feeds claimed ahead by the dispatcher, not started yet, with when (loop time) they were claimed.
    claimed: deque[tuple[ClaimedFeed, float]] = field(default_factory=deque)
    fetch_slots: asyncio.Semaphore = field(init=False)  # see __post_init__
    audience: AudienceCache = field(default_factory=AudienceCache)  # follows of matched queries
    # Feed id -> digests of the items its last stored poll carried (PreparedFeed.digests):
    # the parse pool fingerprints only the others. 8 bytes an item; a hint, never a decision.
    known_items: dict[int, bytes] = field(default_factory=dict)
    outcomes: OutcomeWriter | None = None  # built from sessions and worker_id unless given
    # Stores of changed feeds, several per transaction (dry runs write through write_transaction).
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
            self.store_writer = GroupCommit(self.sessions, partial(write_stores, self), max_batch=10)


async def poll_due_feeds(ctx: PollContext, *, limit: int = 1000) -> list[FeedOutcome]:
    """Claim every due feed (up to ``limit``) and poll them concurrently, bounded."""
    now = ctx.clock()
    lease = timedelta(seconds=ctx.settings.polling.lease)
    async with write_transaction(ctx) as session:
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
    return (await _dispatch(ctx, free))[0] if free > 0 else 0


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
            count, more = await _dispatch(ctx, free)
            started += count
            if not more:
                return started  # no feed is left due or held; the next tick looks again
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


async def _dispatch(ctx: PollContext, free: int) -> tuple[int, bool]:
    """Start up to ``free`` polls of feeds claimed ahead, claiming first when fewer than
    that are held (``free`` and ``CLAIM_AHEAD`` times concurrency more, in one write
    transaction). Returns (polls started, whether more feeds may be due)."""
    loop = asyncio.get_running_loop()
    more = True
    if len(ctx.claimed) < free:
        now, claimed_at = ctx.clock(), loop.time()  # the lease runs from before the write lock's wait
        wanted = free - len(ctx.claimed) + CLAIM_AHEAD * ctx.settings.polling.concurrency
        async with write_transaction(ctx) as session:
            feeds = await feed_repo.claim_due_feeds(
                session,
                now=now,
                worker=ctx.worker_id,
                lease=timedelta(seconds=ctx.settings.polling.lease),
                limit=wanted,
            )
        ctx.claimed.extend((feed, claimed_at) for feed in feeds)
        more = len(feeds) == wanted
    started = 0
    # A feed held for half its lease is left to expire (another worker may take it then):
    # its poll could outlast the lease, and the feed be polled twice.
    fresh_after = loop.time() - ctx.settings.polling.lease / 2
    while started < free and ctx.claimed:
        feed, claimed_at = ctx.claimed.popleft()
        if claimed_at < fresh_after:
            continue
        lag = (ctx.clock() - feed.next_poll_at).total_seconds()
        ctx.metrics.set("storywatch_poll_lag_seconds", max(lag, 0.0))
        task = asyncio.create_task(_poll_and_notify(ctx, feed), name=f"poll-feed-{feed.id}")
        ctx.in_flight.add(task)
        task.add_done_callback(partial(_poll_done, ctx))
        started += 1
    return started, more or bool(ctx.claimed)


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
    cancel the rest. A claim cut short, and feeds claimed ahead, stay leased until the
    caller releases the worker's claims or the lease expires."""
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
            return await record_failure(ctx, feed, FeedError(f"internal error: {type(exc).__name__}"), ctx.clock())
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
            return await record_failure(ctx, feed, found, started)
        result, parsed = found
        if parsed is None:
            return await record_unchanged(ctx, feed, result, started)
        return await store_new_items(ctx, feed, result, parsed, started)
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
