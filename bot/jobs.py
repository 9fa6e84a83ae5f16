"""APScheduler wiring: jobs call plain functions with their dependencies passed in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery.context import SendContext
from bot.delivery.digests import release_quiet_pings, send_digests
from bot.delivery.failures import probe_paused_channels
from bot.delivery.sender import deliver_due
from bot.heap import settle_heap
from bot.polling import PollContext, forget_unpolled_feeds, keep_dispatching
from bot.retention import PRUNE_EVERY, prune_stored
from bot.services import Services
from bot.tasks import drain_tasks
from db.repo import feeds as feed_repo

log = logging.getLogger("storywatch.jobs")

POLL_JOB = "poll-feeds"
SEND_JOB = "send-alerts"
PRUNE_JOB = "prune-items"
FOLLOWS_JOB = "sync-follows"
STORIES_JOB = "sync-stories"
PROBE_JOB = "probe-paused-channels"
DIGEST_JOB = "send-digests"
QUIET_JOB = "release-quiet-pings"
HEAP_JOB = "settle-heap"


class InFlight:
    """Tracks running job calls so shutdown can let them finish before closing."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def guarded(self, name: str, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """A job that logs its own failure instead of killing the schedule."""

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)  # type: ignore[arg-type]
            try:
                await work()
            except asyncio.CancelledError:
                log.info("job %s interrupted by shutdown", name)
            except Exception:
                log.exception("job %s failed; it runs again on its next tick", name)
            finally:
                if task is not None:
                    self.tasks.discard(task)  # type: ignore[arg-type]

        return run

    async def drain(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for running jobs, then cancel the rest."""
        await drain_tasks(self.tasks, grace)


# How often to look for due feeds: a feed is polled at most this much after it is due. A
# tick is one claim query; at the old 2 s (a tenth of the interval, capped) the tick alone
# used up the 2 s an alert may take beyond the interval.
POLL_TICK_SECONDS = 0.5
# How often each process takes in the stories the others saved: the window in which two
# workers may each open a story for one event.
STORY_SYNC_SECONDS = 2.0
# How often the jobs that wait for a clock time look (digests, the end of quiet hours):
# one indexed query each, so members hear within seconds of the minute they chose.
CLOCK_JOB_SECONDS = 15.0
# How long one dispatcher started by a tick may keep claiming as polls finish (it stops
# sooner once no feed is due); the next tick after it starts another (keep_dispatching).
DISPATCH_RUN_SECONDS = 30.0


async def prune(services: Services, poll: PollContext) -> None:
    retention = timedelta(days=services.settings.polling.retention_days)
    pruned = await prune_stored(services.sessions, services.worker_id, now=datetime.now(UTC), retention=retention)
    if pruned is not None and any(pruned):
        log.info("pruned %d items and %d dedup keys", *pruned)
    async with services.sessions() as session:
        polled = await feed_repo.enabled_feed_ids(session)
    if forgotten := forget_unpolled_feeds(poll, polled):
        log.info("forgot the last items of %d feeds no longer polled", forgotten)


async def _settle_heap() -> None:
    settle_heap()


def build_scheduler(services: Services, poll: PollContext, send: SendContext, jobs: InFlight) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}

    async def poll_once() -> None:
        await services.refresh_matcher()
        keep_dispatching(poll, seconds=DISPATCH_RUN_SECONDS)

    scheduler.add_job(
        jobs.guarded(POLL_JOB, poll_once),
        "interval",
        seconds=POLL_TICK_SECONDS,
        id=POLL_JOB,
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(SEND_JOB, lambda: deliver_due(send)),
        "interval",
        seconds=services.settings.alerts.send_interval_seconds,
        id=SEND_JOB,
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(FOLLOWS_JOB, services.refresh_matcher),
        "interval",
        seconds=2,
        id=FOLLOWS_JOB,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(STORIES_JOB, services.sync_stories),
        "interval",
        seconds=STORY_SYNC_SECONDS,
        id=STORIES_JOB,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(PRUNE_JOB, lambda: prune(services, poll)),
        "interval",
        seconds=PRUNE_EVERY.total_seconds(),
        id=PRUNE_JOB,
        next_run_time=now + timedelta(minutes=1),
        **common,
    )
    scheduler.add_job(
        jobs.guarded(HEAP_JOB, _settle_heap),
        "interval",
        hours=6,  # what grew since the last settle (new stories) joins the frozen heap
        id=HEAP_JOB,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(PROBE_JOB, lambda: probe_paused_channels(send)),
        "interval",
        minutes=30,
        id=PROBE_JOB,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(DIGEST_JOB, lambda: send_digests(send)),
        "interval",
        seconds=CLOCK_JOB_SECONDS,
        id=DIGEST_JOB,
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        jobs.guarded(QUIET_JOB, lambda: release_quiet_pings(send)),
        "interval",
        seconds=CLOCK_JOB_SECONDS,
        id=QUIET_JOB,
        next_run_time=now,
        **common,
    )
    return scheduler


def wake(scheduler: AsyncIOScheduler, job_id: str) -> None:
    """Run a job now instead of at its next tick (e.g. send right after a poll queued)."""
    job = scheduler.get_job(job_id)
    if job is not None:
        job.modify(next_run_time=datetime.now(UTC))
