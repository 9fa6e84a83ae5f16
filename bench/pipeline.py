"""Building the real poll pipeline for a benchmark: settings, services, feeds, follows.

Everything here is the bot's own code (build_services, migrations, repositories,
PollContext); the only substitution is the fetcher's DNS resolver, which maps each
feed's own ``*.bench.test`` host name to 127.0.0.1.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update

from bench.common import Headline, LoopbackResolver, bench_settings_toml
from bench.feeddocs import version_etag
from bot.audience import AudienceCache
from bot.errors import QueryError
from bot.fetch.fetcher import FeedFetcher
from bot.follow_service import parse as parse_follow
from bot.polling import PollContext
from bot.services import Services, build_services, fetch_limits
from bot.settings import Settings, parse_settings
from bot.stories.stopwords import STOPWORDS
from db.migrate import upgrade
from db.models import Feed
from db.repo import feeds as feed_repo
from db.repo import follows as follow_repo


def poll_settings(database_url: str, *, concurrency: int, parse_workers: int = 2) -> Settings:
    extra = f"[polling]\nconcurrency = {concurrency}\nparse_workers = {parse_workers}\ntimeout_seconds = 60\n"
    return parse_settings(bench_settings_toml(database_url, extra=extra), "bench", {})


async def loopback_fetcher(settings: Settings) -> FeedFetcher:
    """The bot's FeedFetcher with the bot's limits, resolving benchmark hosts to 127.0.0.1."""
    fetcher = FeedFetcher(
        fetch_limits(settings),
        allow_private=settings.security.allow_private_feed_urls,
        resolver=LoopbackResolver(),
    )
    await fetcher.start()
    return fetcher


async def open_services(settings: Settings, *, migrate: bool = True) -> Services:
    services = await build_services(settings)
    await services.fetcher.close()  # replaced: same limits, loopback resolver
    services.fetcher = await loopback_fetcher(settings)
    if migrate:
        await upgrade(services.engine)
    return services


@dataclass
class PollState:
    """What the bot's one PollContext keeps from cycle to cycle (the benchmarks build a
    context per cycle, each with a fresh fetcher): the audience cache and the known-items
    hints. Without it every measured cycle would start cold, as no bot cycle does."""

    audience: AudienceCache = field(default_factory=AudienceCache)
    known_items: dict[int, bytes] = field(default_factory=dict)


def poll_context(
    services: Services, fetcher: FeedFetcher, *, stories: bool = True, state: PollState | None = None
) -> PollContext:
    """The context the bot builds in setup_hook (story grouping included unless told)."""
    state = state or PollState()
    return PollContext(
        settings=services.settings,
        sessions=services.sessions,
        fetcher=fetcher,
        parse_pool=services.parse_pool,
        matcher=services.matcher,
        worker_id=services.worker_id,
        metrics=services.metrics,
        stories=services.stories if stories else None,
        audience=state.audience,
        known_items=state.known_items,
    )


async def add_feeds(services: Services, urls: Sequence[str]) -> None:
    now = datetime.now(UTC)
    interval = services.settings.polling.interval_seconds
    async with services.sessions.begin() as session:
        for index, url in enumerate(urls):
            await feed_repo.get_or_create_feed(
                session,
                url=url,
                name=f"Bench {index}",
                kind="config",
                trusted=True,
                interval=interval,
                now=now,
            )


async def feed_ids_in_order(services: Services, urls: Sequence[str]) -> list[int]:
    async with services.sessions() as session:
        by_url: dict[str, int] = dict((await session.execute(select(Feed.url, Feed.id))).all())
    return [by_url[url] for url in urls]


async def mark_polled(services: Services, feed_ids: Sequence[int]) -> None:
    """Every feed as after its baseline poll of version 1: the next poll is a 304."""
    values = [{"id": fid, "etag": version_etag(i, 1), "baseline_done": True} for i, fid in enumerate(feed_ids)]
    async with services.sessions.begin() as session:
        await session.execute(update(Feed), values)


def follow_texts(headlines: Sequence[Headline], count: int, seed: int) -> list[str]:
    """Follow queries of one or two words taken from real headlines (fixed seed)."""
    rng = random.Random(seed)
    texts: list[str] = []
    while len(texts) < count:
        words = [
            w
            for w in "".join(c if c.isalnum() else " " for c in rng.choice(headlines).title).lower().split()
            if len(w) >= 4 and w.isalpha() and w not in STOPWORDS  # too common to be anyone's follow
        ]
        if not words:
            continue
        size = 1 if len(words) == 1 or rng.random() < 0.5 else 2
        texts.append(" ".join(rng.sample(words, size)))
    return texts


async def add_follows(
    services: Services,
    texts: Sequence[str],
    *,
    guild_id: int,
    channel_ids: Sequence[int],
    first_user_id: int,
) -> int:
    """Store one follow per text, round-robin over the channels; returns how many."""
    now = datetime.now(UTC)
    stored = 0
    async with services.sessions.begin() as session:
        for index, text in enumerate(texts):
            try:
                query = parse_follow(services.settings, text)
            except QueryError:
                continue
            stored += await follow_repo.add_follow(
                session,
                guild_id=guild_id,
                channel_id=channel_ids[index % len(channel_ids)],
                user_id=first_user_id + index,
                query=query.normalized,
                now=now,
            )
    await services.refresh_matcher()
    return stored
