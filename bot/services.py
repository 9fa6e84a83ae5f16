"""The resources built once at startup and handed to jobs and cogs."""

from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.fetch.fetcher import FeedFetcher
from bot.fetch.limits import FetchLimits
from bot.follow_matcher import FollowMatcher
from bot.heap import tune_collector
from bot.metrics import Metrics
from bot.parse_worker import exit_with_parent
from bot.ratelimit import CommandLimits
from bot.settings import Settings
from bot.story_book import StoryBook
from db.engine import SessionFactory, make_engine, make_session_factory
from db.repo import follows as follow_repo


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    fetcher: FeedFetcher
    parse_pool: Executor | None
    matcher: FollowMatcher
    worker_id: str
    stories: StoryBook
    limits: CommandLimits
    metrics: Metrics = field(default_factory=Metrics)

    async def refresh_matcher(self) -> bool:
        """Bring the matcher in step with the follows table if another process changed it."""
        async with self.sessions() as session:
            version = await follow_repo.follows_version(session)
            if version == self.matcher.version:
                return False
            queries = await follow_repo.distinct_queries(session)
        self.matcher.sync(queries, version)
        return True

    async def sync_stories(self) -> int:
        """Take in the stories the other processes saved (``StoryBook.sync``)."""
        return await self.stories.sync(self.sessions)

    async def close(self) -> None:
        await self.fetcher.close()
        if self.parse_pool is not None:
            # Waiting lets the worker processes exit cleanly (no leaked semaphores).
            await asyncio.to_thread(self.parse_pool.shutdown, wait=True, cancel_futures=True)
        await self.engine.dispose()


def fetch_limits(settings: Settings) -> FetchLimits:
    polling = settings.polling
    return FetchLimits(
        connect_timeout=polling.timeout_seconds,
        total_timeout=polling.timeout_seconds,
        max_body_bytes=polling.max_body_bytes,
        max_redirects=polling.max_redirects,
        per_host_concurrency=polling.per_host_concurrency,
        global_concurrency=polling.concurrency,
    )


def parse_pool(workers: int) -> ProcessPoolExecutor:
    """The processes that parse feeds. Spawned, not forked: forking a process that runs an
    event loop and threads is unsafe. A spawned process first imports the program's main
    module: for the ``storywatch`` script that is ``bot.cli``, which keeps its top-level
    imports light so each of them stays about 35 MB rather than 80 (tests/bot/test_services).
    Each exits by itself if the bot is killed (``exit_with_parent``)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=exit_with_parent)


async def build_services(settings: Settings, *, parse_in_processes: bool = True) -> Services:
    tune_collector()  # a process-wide policy: the process these services serve is long-lived
    engine = make_engine(settings.database.url)
    fetcher = FeedFetcher(fetch_limits(settings), allow_private=settings.security.allow_private_feed_urls)
    await fetcher.start()
    pool: Executor | None = None
    if parse_in_processes:
        pool = parse_pool(settings.polling.parse_workers)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        fetcher=fetcher,
        parse_pool=pool,
        matcher=FollowMatcher(),
        worker_id=worker_id,
        stories=StoryBook(timedelta(hours=settings.alerts.story_window_hours), worker_id=worker_id),
        limits=CommandLimits.per_minute(
            settings.limits.member_changes_per_minute,
            settings.limits.server_changes_per_minute,
            settings.limits.member_reads_per_minute,
        ),
    )
