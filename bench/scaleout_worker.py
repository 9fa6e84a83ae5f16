"""One poll worker process of the scale-out benchmark, driven over a pipe.

It builds the bot's services against the shared PostgreSQL database, says "ready",
then for each "go" polls until no due feed is left (claiming ``claim`` feeds at a
time, as the scheduler's ticks do; with stories, loading the open ones first and taking in
the other workers' every 2 s, as the bot does) and answers with what it polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench.cycles import settle_strays
from bench.pipeline import loopback_fetcher, open_services, poll_context, poll_settings
from bot.jobs import STORY_SYNC_SECONDS
from bot.poll_outcome import FeedOutcome
from bot.polling import poll_due_feeds
from bot.services import Services
from bot.stories import OpenStory

# A phase stops after this many failed cycles rather than retrying forever.
MAX_CRASHES = 50


def worker_main(
    database_url: str, concurrency: int, claim: int, stories: bool, sync: bool, fold: bool, conn: Connection
) -> None:
    asyncio.run(_work(database_url, concurrency, claim, stories, sync, fold, conn))


async def _never_fold(_session: AsyncSession, _stories: Sequence[OpenStory]) -> dict[str, str]:
    return {}


async def _work(
    database_url: str, concurrency: int, claim: int, stories: bool, sync: bool, fold: bool, conn: Connection
) -> None:
    settings = poll_settings(database_url, concurrency=concurrency)
    services = await open_services(settings, migrate=False)
    if stories:  # as the bot's setup_hook does
        async with services.sessions() as session:
            await services.stories.load(session, now=datetime.now(UTC))
    if not fold:  # --no-fold (diagnosis): the writes save new stories as they are, as before fold_new
        services.stories.fold_new = _never_fold  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    try:
        conn.send({"ready": services.worker_id})
        while await loop.run_in_executor(None, conn.recv) == "go":
            conn.send(await _poll_until_done(services, claim, stories, sync))
    except EOFError:
        pass
    finally:
        await services.close()


async def _poll_until_done(services: Services, claim: int, stories: bool, sync: bool) -> dict[str, Any]:
    fetcher = await loopback_fetcher(services.settings)
    outcomes: list[FeedOutcome] = []
    crashes: list[str] = []
    started = time.perf_counter()
    context = poll_context(services, fetcher, stories=stories)
    taken_in, folds = services.stories.taken_in, services.stories.folds

    async def sync_stories() -> None:  # as the bot's job does, while this worker polls
        while True:
            await asyncio.sleep(STORY_SYNC_SECONDS)
            await services.sync_stories()

    syncing = asyncio.create_task(sync_stories()) if stories and sync else None
    while True:
        try:
            batch = await poll_due_feeds(context, limit=claim)
        except Exception as exc:  # as the scheduler: log it, the next tick polls on
            crashes.append(f"{type(exc).__name__}: {exc}"[:300])
            await settle_strays()
            if len(crashes) >= MAX_CRASHES:
                break
            continue
        if not batch:
            break
        outcomes += batch
    seconds = time.perf_counter() - started
    if syncing is not None:
        syncing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await syncing
    await fetcher.close()
    return {
        "worker": services.worker_id,
        "polled": len(outcomes),
        "statuses": dict(Counter(o.status for o in outcomes)),
        "seconds": seconds,
        "crashes": crashes,
        "stories_taken_in": services.stories.taken_in - taken_in,
        "stories_folded": services.stories.folds - folds,
    }
