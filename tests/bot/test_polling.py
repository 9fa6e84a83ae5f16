"""The poll pipeline with real parts: a local feed server, FeedFetcher, SQLite/PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from bot.fetch.fetcher import FeedFetcher
from bot.fetch.limits import FetchLimits
from bot.follow_matcher import FollowMatcher
from bot.polling import (
    WRITE_QUEUE_FACTOR,
    PollContext,
    dispatch_due_feeds,
    dispatch_while_due,
    drain_polls,
    forget_unpolled_feeds,
    keep_dispatching,
    poll_due_feeds,
)
from bot.prepare import DIGEST_SIZE
from bot.settings import parse_settings
from bot.story_book import StoryBook
from db.engine import SessionFactory
from db.models import Delivery, Feed, Item, SeenKey
from db.repo import feeds as feed_repo
from db.repo import follows as follow_repo
from tests.support.feed_server import FeedItem, FeedServer

NOW = datetime.now(UTC)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    feeds = FeedServer()
    await feeds.start()
    try:
        yield feeds
    finally:
        await feeds.stop()


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    # Operator (trusted) feeds on loopback, as config.toml feeds are.
    feed_fetcher = FeedFetcher(FetchLimits(total_timeout=5, connect_timeout=5), allow_private=True)
    await feed_fetcher.start()
    try:
        yield feed_fetcher
    finally:
        await feed_fetcher.close()


def context(
    sessions: SessionFactory,
    fetcher: FeedFetcher,
    matcher: FollowMatcher,
    *,
    stories: StoryBook | None = None,
    worker_id: str = "test-worker",
    **polling: object,
) -> PollContext:
    extra = "\n".join(f"{k} = {v}" for k, v in polling.items())
    settings = parse_settings(f"[polling]\ninterval_seconds = 60\n{extra}\n", "test", {})
    return PollContext(
        settings=settings,
        sessions=sessions,
        fetcher=fetcher,
        parse_pool=None,
        matcher=matcher,
        worker_id=worker_id,
        stories=stories,
    )


async def add_feed(sessions: SessionFactory, url: str, name: str = "F") -> int:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url=url, name=name, kind="config", trusted=True, interval=60, now=NOW
        )
        return feed.id


async def make_due(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        await feed_repo.make_all_due(s, now=datetime.now(UTC))


async def follow(sessions: SessionFactory, matcher: FollowMatcher, query: str, channel: int = 10) -> None:
    async with sessions.begin() as s:
        await follow_repo.add_follow(s, guild_id=1, channel_id=channel, user_id=5, query=query, now=NOW)
    matcher.add(query)


async def count(sessions: SessionFactory, model: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def article(n: int, title: str, *, guid: str | None = None, link: str | None = None, minutes_ago: int = 1) -> FeedItem:
    return FeedItem(
        title=title,
        link=link or f"https://pub.test/a/{n}",
        guid=guid or f"g{n}",
        published=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


async def test_baseline_then_new_items_alert_once(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    matcher = FollowMatcher()
    await follow(sessions, matcher, "oscars")
    await add_feed(sessions, server.set_feed("f.xml", [article(1, "Oscars: the nominees")]))
    ctx = context(sessions, fetcher, matcher)
    [first] = await poll_due_feeds(ctx)
    assert first.status == "baseline" and first.new_items == 1 and first.queued == 0
    server.set_feed("f.xml", [article(2, "Oscars: the winners"), article(1, "Oscars: the nominees")])
    await make_due(sessions)
    [second] = await poll_due_feeds(ctx)
    assert (second.new_items, second.queued) == (1, 1)
    await make_due(sessions)
    [third] = await poll_due_feeds(ctx)
    assert third.status == "unchanged"  # a 304: nothing parsed, nothing stored
    assert await count(sessions, Delivery) == 1


async def test_guid_date_and_tracking_churn_never_make_a_new_item(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    matcher = FollowMatcher()
    await follow(sessions, matcher, "grammys")
    await add_feed(sessions, server.set_feed("f.xml", []))
    ctx = context(sessions, fetcher, matcher)
    await poll_due_feeds(ctx)
    server.set_feed("f.xml", [article(1, "Grammys host named", link="https://pub.test/grammys")])
    await make_due(sessions)
    await poll_due_feeds(ctx)
    for churned in (
        article(1, "Grammys host named", link="https://pub.test/grammys", minutes_ago=30),  # pubDate changed
        article(1, "Grammys host named", guid="new-guid", link="https://pub.test/grammys"),  # guid changed
        article(1, "Grammys host named", guid="newer", link="https://PUB.test/grammys?utm_source=rss#top"),
    ):
        server.set_feed("f.xml", [churned])
        await make_due(sessions)
        [outcome] = await poll_due_feeds(ctx)
        assert outcome.new_items == 0, churned
    assert await count(sessions, Delivery) == 1


async def test_one_article_through_two_feeds_is_one_alert(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    matcher = FollowMatcher()
    await follow(sessions, matcher, "beyonce")
    await add_feed(sessions, server.set_feed("a.xml", []), "A")
    await add_feed(sessions, server.set_feed("b.xml", []), "B")
    ctx = context(sessions, fetcher, matcher)
    await poll_due_feeds(ctx)
    server.set_feed("a.xml", [article(1, "Beyonce tour", link="https://pub.test/beyonce?utm_medium=a")])
    server.set_feed("b.xml", [article(9, "Beyoncé tour!", guid="other", link="https://pub.test/beyonce?fbclid=x")])
    await make_due(sessions)
    outcomes = await poll_due_feeds(ctx)
    assert sorted(o.new_items for o in outcomes) == [1, 1]  # each feed stores its copy…
    assert await count(sessions, Delivery) == 1  # …but the channel hears of it once


async def test_old_items_are_stored_but_not_alerted(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    matcher = FollowMatcher()
    await follow(sessions, matcher, "cannes")
    await add_feed(sessions, server.set_feed("f.xml", []))
    ctx = context(sessions, fetcher, matcher)
    await poll_due_feeds(ctx)
    server.set_feed("f.xml", [article(1, "Cannes jury named", minutes_ago=60 * 50)])
    await make_due(sessions)
    [outcome] = await poll_due_feeds(ctx)
    assert (outcome.new_items, outcome.queued) == (1, 0)


async def test_500_streak_disables_and_410_disables_at_once(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    failing = await add_feed(sessions, server.set_raw("down.xml", b"boom", status=500), "Down")
    gone = await add_feed(sessions, server.set_raw("gone.xml", b"", status=410), "Gone")
    ctx = context(sessions, fetcher, FollowMatcher(), disable_after_failures=3)
    for _ in range(3):
        await make_due(sessions)
        await poll_due_feeds(ctx)
    async with sessions() as s:
        down, removed = await s.get(Feed, failing), await s.get(Feed, gone)
    assert down is not None and removed is not None
    assert not down.enabled and "3 failures in a row" in (down.disabled_reason or "")
    assert down.consecutive_failures == 3 and "500" in (down.last_error or "")
    assert not removed.enabled and "410" in (removed.disabled_reason or "")
    assert server.hits("gone.xml") == 1


async def test_failure_backs_off_and_success_resets(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    feed_id = await add_feed(sessions, server.set_raw("f.xml", b"x", status=503))
    ctx = context(sessions, fetcher, FollowMatcher(), failure_floor_seconds=60)
    before = datetime.now(UTC)
    await poll_due_feeds(ctx)
    async with sessions() as s:
        feed = await s.get(Feed, feed_id)
    assert feed is not None and feed.next_poll_at >= before + timedelta(seconds=50)
    server.set_feed("f.xml", [article(1, "Back")])
    await make_due(sessions)
    await poll_due_feeds(ctx)
    async with sessions() as s:
        feed = await s.get(Feed, feed_id)
    assert feed is not None and feed.consecutive_failures == 0 and feed.last_error is None
    assert await count(sessions, Item) == 1


async def test_an_item_alerts_exactly_the_members_whose_query_it_matched(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    matcher = FollowMatcher()
    follows = [(10, 5, "oscars"), (10, 6, "winners"), (10, 7, "grammys"), (11, 8, "oscars"), (11, 9, "tonys")]
    async with sessions.begin() as s:
        for channel, user, query in follows:
            await follow_repo.add_follow(s, guild_id=1, channel_id=channel, user_id=user, query=query, now=NOW)
    for _channel, _user, query in follows:
        matcher.add(query)
    await add_feed(sessions, server.set_feed("f.xml", [article(1, "Tonys: the nominees")]))
    ctx = context(sessions, fetcher, matcher)
    await poll_due_feeds(ctx)
    server.set_feed("f.xml", [article(2, "Oscars: the winners"), article(1, "Tonys: the nominees")])
    await make_due(sessions)
    [outcome] = await poll_due_feeds(ctx)
    assert outcome.queued == 2
    async with sessions() as s:
        rows = (await s.scalars(select(Delivery).order_by(Delivery.channel_id))).all()
    assert [(d.channel_id, d.user_ids, d.queries) for d in rows] == [
        (10, "5 6", "oscars\nwinners"),
        (11, "8", "oscars"),
    ]


async def test_new_items_are_grouped_even_when_the_known_items_hint_is_stale(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """The pool skips fingerprints of items the feed had at its last stored poll; when
    the database disagrees (their rows were lost), they are fingerprinted after the read."""
    await add_feed(sessions, server.set_feed("f.xml", [article(1, "Oscars: the nominees")]))
    ctx = context(sessions, fetcher, FollowMatcher(), stories=StoryBook(timedelta(hours=48)))
    await poll_due_feeds(ctx)
    [hint] = ctx.known_items.values()
    assert len(hint) == DIGEST_SIZE  # one item stored: one digest remembered
    async with sessions.begin() as s:  # the stored rows are gone; the hint still names them
        await s.execute(delete(Item))
        await s.execute(delete(SeenKey))
    server.set_feed("f.xml", [article(2, "Grammys: the winners"), article(1, "Oscars: the nominees")])
    await make_due(sessions)
    [outcome] = await poll_due_feeds(ctx)
    assert outcome.new_items == 2
    async with sessions() as s:
        stories = (await s.scalars(select(Item.story_id).order_by(Item.dedup_key))).all()
    assert len(stories) == 2 and all(stories)
    assert len(ctx.known_items[outcome.feed_id]) == 2 * DIGEST_SIZE


async def make_one_due(sessions: SessionFactory, feed_id: int) -> None:
    async with sessions.begin() as s:
        await s.execute(update(Feed).where(Feed.id == feed_id).values(next_poll_at=datetime.now(UTC)))


async def test_two_workers_first_to_cover_a_story_store_it_as_one(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """Two outlets' first articles on the news, polled by two workers before either has
    the other's story: the second write folds its story into the first's, items included."""
    first_feed = await add_feed(sessions, server.set_feed("a.xml", []), name="A")
    second_feed = await add_feed(sessions, server.set_feed("b.xml", []), name="B")
    books = [StoryBook(timedelta(hours=48), worker_id=f"host:{n}") for n in (1, 2)]
    for book in books:
        async with sessions() as s:
            await book.load(s, now=NOW)
    a, b = (context(sessions, fetcher, FollowMatcher(), stories=book, worker_id=book.worker_id) for book in books)
    assert len(await poll_due_feeds(a)) == 2  # both feeds' first (empty) polls
    server.set_feed("a.xml", [article(1, "Kim Kardashian wedding date set")])
    server.set_feed("b.xml", [article(2, "Kim Kardashian wedding date set for May")])
    await make_one_due(sessions, first_feed)
    [polled_by_a] = await poll_due_feeds(a)
    await make_one_due(sessions, second_feed)
    [polled_by_b] = await poll_due_feeds(b)
    assert (polled_by_a.feed_id, polled_by_b.feed_id) == (first_feed, second_feed)
    async with sessions() as s:
        story_ids = set((await s.scalars(select(Item.story_id))).all())
    [story_id] = story_ids
    story = books[1].grouper.get(story_id or "")
    assert story is not None and story.article_count == 2


async def test_the_hints_of_feeds_no_longer_polled_are_forgotten(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    kept = await add_feed(sessions, server.set_feed("kept.xml", [article(1, "Oscars: the nominees")]))
    removed = await add_feed(sessions, server.set_feed("removed.xml", [article(2, "Tonys: the winners")]))
    ctx = context(sessions, fetcher, FollowMatcher())
    await poll_due_feeds(ctx)
    assert set(ctx.known_items) == {kept, removed}
    async with sessions.begin() as s:
        await s.execute(update(Feed).where(Feed.id == removed).values(enabled=False))
        polled = await feed_repo.enabled_feed_ids(s)
    assert forget_unpolled_feeds(ctx, polled) == 1
    assert set(ctx.known_items) == {kept}
    assert forget_unpolled_feeds(ctx, polled) == 0


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def skip_unless_sqlite(sessions: SessionFactory) -> None:
    async with sessions() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("the write lock that holds the polls back is SQLite's")


async def add_failing_feeds(sessions: SessionFactory, server: FeedServer, count: int) -> None:
    """Feeds f0.xml... that answer 500 at once: the quickest polls there are."""
    for n in range(count):
        await add_feed(sessions, server.set_raw(f"f{n}.xml", b"down", status=500), name=f"F{n}")


async def test_polls_waiting_for_their_write_free_their_fetch_slot_up_to_a_bound(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """SQLite's writer busy: fetched polls wait for it without holding a concurrency slot,
    so others fetch meanwhile (and later share a write), but at most WRITE_QUEUE_FACTOR
    times the concurrency are in flight."""
    await skip_unless_sqlite(sessions)
    await add_failing_feeds(sessions, server, 10)
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    bound = WRITE_QUEUE_FACTOR * 2
    async with sessions.begin():  # this task holds the write lock; the polls' writes queue behind it
        started = 0
        while started < bound:
            count = await dispatch_due_feeds(ctx)
            assert count == 2  # never more fetching at once than the concurrency
            started += count
            await _until(lambda wanted=started: ctx.writing == wanted, f"{started} polls waiting for their write")
        assert len(server.requests) == bound
        assert await dispatch_due_feeds(ctx) == 0  # two feeds are due, but the write queue is full
    await drain_polls(ctx, grace=10)
    await make_due(sessions)
    while await dispatch_due_feeds(ctx):
        await drain_polls(ctx, grace=10)
    async with sessions() as s:
        failures = (await s.scalars(select(Feed.consecutive_failures))).all()
    assert sorted(failures) == [1, 1, 2, 2, 2, 2, 2, 2, 2, 2]  # every poll's outcome was written


async def test_a_tick_keeps_claiming_as_polls_finish_until_no_feed_is_due(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """One tick, two slots, ten due feeds: freed slots are refilled within the tick (one
    claim a tick left them idle until the next), and the tick ends once none is due."""
    await add_failing_feeds(sessions, server, 10)
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    started = await asyncio.wait_for(dispatch_while_due(ctx, seconds=3_600), timeout=60)
    await drain_polls(ctx, grace=10)
    assert started == 10
    assert sorted(name for name, _headers in server.requests) == sorted(f"f{n}.xml" for n in range(10))
    assert await dispatch_while_due(ctx, seconds=3_600) == 0  # none due: returns at once


async def test_a_tick_starts_one_dispatcher_that_outlives_it(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """The scheduler's tick returns at once; its dispatcher claims until no feed is due, and
    ticks meanwhile start no second one (two would claim past the concurrency)."""
    await add_failing_feeds(sessions, server, 10)
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    dispatcher = keep_dispatching(ctx, seconds=3_600)
    assert dispatcher is not None
    assert keep_dispatching(ctx, seconds=3_600) is None  # the next tick: one is running
    assert await asyncio.wait_for(dispatcher, timeout=60) == 10
    await drain_polls(ctx, grace=10)
    assert sorted(name for name, _headers in server.requests) == sorted(f"f{n}.xml" for n in range(10))
    after = keep_dispatching(ctx, seconds=3_600)  # the one before ended: a tick starts another
    assert after is not None and await after == 0  # none due


async def test_draining_stops_the_dispatcher_before_the_polls(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """Shutdown: the dispatcher, waiting for a free slot, is cancelled, so it claims nothing
    more while the polls in flight are drained."""
    await add_failing_feeds(sessions, server, 12)
    server.gate = asyncio.Event()  # the server holds every request: both slots stay busy
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    async with asyncio.timeout(60):
        dispatcher = keep_dispatching(ctx, seconds=3_600)
        assert dispatcher is not None
        await _until(lambda: len(server.requests) == 2, "two polls to fetch")
        await drain_polls(ctx, grace=0.1)
    assert dispatcher.cancelled()
    assert not ctx.in_flight
    server.gate.set()
    await asyncio.sleep(0.1)
    assert len(server.requests) == 2  # the ten feeds still due were never claimed


async def claimed_by_worker(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).where(Feed.claimed_by == "test-worker")) or 0)


async def test_a_dispatcher_claims_ahead_and_starts_held_feeds_as_slots_free(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """A claim (a write transaction) takes the free slots' feeds and a concurrency's worth
    more, held in the context: as polls finish, slots refill from them without claiming."""
    await add_failing_feeds(sessions, server, 10)
    server.gate = asyncio.Event()  # every request waits: both slots stay busy
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    async with asyncio.timeout(60):
        dispatcher = keep_dispatching(ctx, seconds=3_600)
        assert dispatcher is not None
        await _until(lambda: len(server.requests) == 2, "two polls to fetch")
        assert len(ctx.claimed) == 2  # held, not started
        assert await claimed_by_worker(sessions) == 4  # the other six are free for any worker
        server.gate.set()
        assert await dispatcher == 10
        await drain_polls(ctx, grace=10)
    assert sorted(name for name, _headers in server.requests) == sorted(f"f{n}.xml" for n in range(10))
    assert not ctx.claimed and await claimed_by_worker(sessions) == 0


async def test_a_feed_held_for_half_its_lease_is_left_to_expire_not_polled(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """A held feed's poll could outlast its lease, and another worker take the feed then:
    one held that long is dropped (its lease expires), never started."""
    await add_failing_feeds(sessions, server, 4)
    server.gate = asyncio.Event()
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    async with asyncio.timeout(60):
        assert await dispatch_due_feeds(ctx) == 2
        held = [feed.url.rsplit("/", 1)[1] for feed, _at in ctx.claimed]
        long_ago = asyncio.get_running_loop().time() - ctx.settings.polling.lease
        ctx.claimed = deque((feed, long_ago) for feed, _at in ctx.claimed)
        server.gate.set()
        await _until(lambda: ctx.in_flight == set(), "the two polls to finish")
        assert await dispatch_due_feeds(ctx) == 0  # the held two are stale; none other is due
    assert len(held) == 2 and not set(held) & {name for name, _headers in server.requests}
    assert await claimed_by_worker(sessions) == 2  # still leased: nobody polls them before it ends


async def test_a_tick_that_cannot_start_more_polls_ends_at_its_deadline(
    sessions: SessionFactory, server: FeedServer, fetcher: FeedFetcher
) -> None:
    """SQLite's writer held: polls that fetched free their fetch slot and are refilled
    until WRITE_QUEUE_FACTOR times the concurrency wait for their write; then the tick
    waits for a free slot no longer than it was given."""
    await skip_unless_sqlite(sessions)
    await add_failing_feeds(sessions, server, 12)
    ctx = context(sessions, fetcher, FollowMatcher(), concurrency=2)
    async with sessions.begin(), asyncio.timeout(60):  # this task holds the write lock
        started = await dispatch_while_due(ctx, seconds=1)  # claims in this task, past the lock
        assert started == WRITE_QUEUE_FACTOR * 2
    await drain_polls(ctx, grace=10)
