"""A poll's outcome, and what a poll records on its feed when it stores no items:
unchanged (the next poll by the feed's schedule) or failed (backoff; disabled after too
many), batched with the other polls finishing together; and the feed state any successful
poll writes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import FeedError, HTTPStatusError
from bot.fetch.fetcher import FetchResult
from bot.fetch.schedule import PollPolicy, next_delay_after_failure, next_delay_after_success, should_disable
from bot.settings import Settings
from db.repo.feeds import ClaimedFeed

if TYPE_CHECKING:
    from bot.polling import PollContext

log = logging.getLogger("storywatch.poll")


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
async def write_transaction(ctx: PollContext) -> AsyncIterator[AsyncSession]:
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


def success_values(
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


async def record_unchanged(ctx: PollContext, feed: ClaimedFeed, result: FetchResult, now: datetime) -> FeedOutcome:
    values = success_values(ctx, feed, result, now, changed=False, ttl=None)
    await _release(ctx, feed, values)
    return FeedOutcome(feed.id, feed.url, "unchanged")


async def _release(ctx: PollContext, feed: ClaimedFeed, values: dict[str, Any]) -> None:
    """Record an outcome that stores no items: batched with the other polls finishing now."""
    if ctx.dry_run or ctx.outcomes is None:  # a dry run writes nothing
        return
    if not await ctx.outcomes.release(feed.id, values):
        lost_lease(feed)


def lost_lease(feed: ClaimedFeed) -> None:
    log.warning("lost the lease on a feed while polling it", extra={"feed_id": feed.id})


async def record_failure(ctx: PollContext, feed: ClaimedFeed, error: FeedError, now: datetime) -> FeedOutcome:
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
