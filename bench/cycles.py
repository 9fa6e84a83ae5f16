"""Poll cycles for the benchmarks, run the way the scheduler's job runs them.

A cycle that raises is reported, not fatal: the feed tasks it left running are
awaited, and untimed catch-up cycles can bring every feed to a settled state before
the next measured phase.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from bench.pipeline import PollState, loopback_fetcher, poll_context
from bot.fetch.fetcher import FeedFetcher
from bot.jobs import DISPATCH_RUN_SECONDS, POLL_TICK_SECONDS
from bot.poll_outcome import FeedOutcome
from bot.polling import keep_dispatching, poll_due_feeds
from bot.services import Services
from db.models import Feed
from db.repo import feeds as feed_repo

# Every feed task ends by itself (fetch timeout, busy timeout); this only bounds a hang.
STRAY_TIMEOUT = 1_800.0


async def make_due(services: Services) -> None:
    async with services.sessions.begin() as session:
        await feed_repo.make_all_due(session, now=datetime.now(UTC))


@dataclass
class Cycle:
    outcomes: list[FeedOutcome]
    crash: str | None = None  # the exception that ended the cycle (the bot's job logs it)
    succeeded: int = 0  # feeds whose poll was recorded as a success


async def poll_cycle(
    services: Services, fetcher: FeedFetcher, limit: int, *, stories: bool = True, state: PollState | None = None
) -> Cycle:
    """One poll cycle over every due feed, as the scheduler's job runs it.

    If the cycle raises, the other feeds' tasks keep running (gather does not cancel
    them); they are awaited here so the fetcher is not closed under them.
    """
    started = datetime.now(UTC)
    try:
        outcomes = await poll_due_feeds(poll_context(services, fetcher, stories=stories, state=state), limit=limit)
    except Exception as exc:
        await settle_strays()
        return Cycle([], f"{type(exc).__name__}: {exc}"[:300], await succeeded_since(services, started))
    return Cycle(outcomes, None, sum(1 for o in outcomes if o.status != "failed"))


async def tick_cycle(
    services: Services, fetcher: FeedFetcher, feeds: int, *, stories: bool = True, state: PollState | None = None
) -> int:
    """``feeds`` due feeds polled the way the bot's scheduler does it: a tick every
    POLL_TICK_SECONDS starts a dispatcher unless one runs (``keep_dispatching``), and the
    dispatcher claims as polls free their slots until no feed is due. Ends when that many
    polls have started and finished, not at the next tick, so the time is not rounded up
    to a tick (or early, when a dispatcher finds nothing to start and nothing in flight).
    Returns how many polls started."""
    ctx = poll_context(services, fetcher, stories=stories, state=state)
    loop = asyncio.get_running_loop()
    started = 0
    tick = loop.time()
    while started < feeds:
        dispatcher = keep_dispatching(ctx, seconds=DISPATCH_RUN_SECONDS)
        assert dispatcher is not None, "the dispatcher before this one was awaited"
        count = await dispatcher
        started += count
        if count == 0 and not ctx.in_flight:
            return started  # nothing due and nothing running: some feed was not claimable
        if started < feeds:  # the next tick on the scheduler's grid starts the next dispatcher
            now = loop.time()
            tick += POLL_TICK_SECONDS * max(1, math.ceil((now - tick) / POLL_TICK_SECONDS))
            await asyncio.sleep(max(0.0, tick - now))
    if ctx.in_flight:
        await asyncio.wait(set(ctx.in_flight))
    return started


async def poll_all_due(
    services: Services, feeds: int, *, stories: bool = True, state: PollState | None = None
) -> Cycle:
    """Make every feed due and run one cycle over them with a fresh loopback fetcher."""
    await make_due(services)
    fetcher = await loopback_fetcher(services.settings)
    try:
        return await poll_cycle(services, fetcher, limit=feeds, stories=stories, state=state)
    finally:
        await fetcher.close()


async def settle_strays() -> None:
    """After a cycle raised: wait for the feed tasks gather() left running."""
    current = asyncio.current_task()
    strays = [t for t in asyncio.all_tasks() if t is not current]
    if strays:
        await asyncio.wait(strays, timeout=STRAY_TIMEOUT)


async def succeeded_since(services: Services, since: datetime) -> int:
    async with services.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(Feed).where(Feed.last_success_at >= since))
    return int(found or 0)


async def baselined(services: Services) -> int:
    async with services.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(Feed).where(Feed.baseline_done.is_(True)))
    return int(found or 0)


async def catch_up(
    services: Services, feeds: int, *, stories: bool = True, attempts: int = 10, state: PollState | None = None
) -> int | None:
    """Untimed: poll until a whole cycle runs clean and finds nothing new, so the next
    measured phase starts from a settled state. Returns the cycles it took (1: the
    phase before left nothing behind), or None if it never settled."""
    for cycle_no in range(1, attempts + 1):
        cycle = await poll_all_due(services, feeds, stories=stories, state=state)
        if cycle.crash is None and all(o.status == "unchanged" for o in cycle.outcomes):
            return cycle_no
    return None


async def first_poll_until_done(
    services: Services, feeds: int, *, stories: bool = True, attempts: int = 20
) -> list[str]:
    """Set-up: poll until every feed has had its baseline poll, as the scheduler's next
    ticks would after a failed cycle; returns the errors that ended cycles early."""
    crashes: list[str] = []
    for _ in range(attempts):
        cycle = await poll_all_due(services, feeds, stories=stories)
        if cycle.crash:
            crashes.append(cycle.crash)
        if await baselined(services) >= feeds:
            return crashes
    raise RuntimeError(f"feeds still without a first poll after {attempts} cycles: {crashes}")
