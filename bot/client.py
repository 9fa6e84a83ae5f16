"""The Discord client: owns the scheduler's lifecycle and loads the cogs.

Resources come in built (``Services``); the scheduler starts in ``setup_hook`` (never
``on_ready``, which fires again on every reconnect) and stops in ``close``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot.delivery.context import SendContext
from bot.discord_transport import DiscordTransport
from bot.health import HealthChecks, HealthServer
from bot.heap import settle_heap
from bot.jobs import SEND_JOB, InFlight, build_scheduler, wake
from bot.polling import PollContext, drain_polls
from bot.services import Services
from db.engine import db_reachable
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo

log = logging.getLogger("storywatch.bot")

# discord.py refuses a smaller value; past it a send raises RateLimited and is requeued.
MAX_RATELIMIT_TIMEOUT = 30.0
# Seconds a shutdown waits for a running poll or send to finish before cancelling it.
SHUTDOWN_GRACE = 5.0


def intents_for(members: bool) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = members  # privileged: lets the bot drop the follows of members who leave
    return intents


class StorywatchMixin:
    services: Services
    scheduler: AsyncIOScheduler | None
    jobs: InFlight
    health: HealthServer | None
    poll: PollContext | None

    def _init_storywatch(self, services: Services) -> None:
        self.services = services
        self.scheduler = None
        self.jobs = InFlight()
        self.health: HealthServer | None = None
        self.poll: PollContext | None = None

    async def setup_hook(self) -> None:
        from cogs import load_cogs
        from cogs.alert_controls import alert_view

        client: Any = self
        services = self.services
        await services.refresh_matcher()
        async with services.sessions.begin() as session:
            await services.stories.load(session, now=datetime.now(UTC))
            if services.engine.dialect.name == "sqlite":
                # SQLite means one process: claims left by a killed run are ours to take back
                # now (PostgreSQL workers wait for the lease instead; another may be alive).
                await delivery_repo.release_claims(session, None)
                await feed_repo.release_claims(session, None)
            await feed_repo.upsert_config_feeds(
                session,
                [(f.name, f.url) for f in services.settings.feeds],
                interval=services.settings.polling.interval_seconds,
                now=datetime.now(UTC),
            )
        settle_heap()  # the follow index and open stories just loaded live for hours
        await load_cogs(client, services)
        await self._sync_commands()
        transport = DiscordTransport(client, alert_view=alert_view)
        send = SendContext(
            sessions=services.sessions,
            transport=transport,
            worker_id=services.worker_id,
            alerts=services.settings.alerts,
            metrics=services.metrics,
            lease=timedelta(seconds=services.settings.alerts.claim_lease_seconds),
            check_membership=not services.settings.discord.members_intent,
        )
        poll = PollContext(
            settings=services.settings,
            sessions=services.sessions,
            fetcher=services.fetcher,
            parse_pool=services.parse_pool,
            matcher=services.matcher,
            worker_id=services.worker_id,
            metrics=services.metrics,
            stories=services.stories,
        )
        self.poll = poll
        scheduler = build_scheduler(services, poll, send, self.jobs)

        def queued() -> None:
            send.queued.set()  # a drain in progress picks them up
            wake(scheduler, SEND_JOB)  # else the send job starts now

        poll.on_queued = queued
        self.scheduler = scheduler
        scheduler.start()
        await self._start_health()
        log.info("scheduler started", extra={"feeds": len(services.settings.feeds)})

    async def _start_health(self) -> None:
        health = self.services.settings.health
        if not health.enabled:
            return
        client: Any = self
        services = self.services

        async def gateway() -> bool:
            shards = getattr(client, "shards", None)
            if shards:  # AutoShardedBot: every shard this process holds must be connected
                return all(not shard.is_closed() for shard in shards.values()) and client.is_ready()
            ws = client.ws
            return bool(client.is_ready() and not client.is_closed() and ws is not None and ws.open)

        async def scheduler() -> bool:
            return self.scheduler is not None and self.scheduler.running

        async def database() -> bool:
            return await db_reachable(services.engine)

        self.health = HealthServer(
            health.host,
            health.port,
            HealthChecks(gateway=gateway, scheduler=scheduler, database=database),
            services.metrics.render,
        )
        await self.health.start()
        log.info("health endpoint listening", extra={"host": health.host, "port": self.health.port})

    async def _sync_commands(self) -> None:
        client: Any = self
        guild_id = self.services.settings.discord.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            client.tree.copy_global_to(guild=guild)
            synced = await client.tree.sync(guild=guild)
        else:
            synced = await client.tree.sync()
        log.info("slash commands synced: %s", ", ".join(sorted(c.name for c in synced)))

    async def close(self) -> None:
        if self.health is not None:
            await self.health.stop()
            self.health = None
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # no new runs; the running ones finish below
            self.scheduler = None
            await self.jobs.drain(grace=SHUTDOWN_GRACE)
            if self.poll is not None:
                await drain_polls(self.poll, grace=SHUTDOWN_GRACE)
        try:
            async with self.services.sessions.begin() as session:
                await delivery_repo.release_claims(session, self.services.worker_id)
                await feed_repo.release_claims(session, self.services.worker_id)
        except Exception:
            log.warning("could not release delivery claims on shutdown", exc_info=True)
        await super().close()  # type: ignore[misc]


def _bot_options(services: Services) -> dict[str, Any]:
    settings = services.settings.discord
    return {
        "command_prefix": commands.when_mentioned,
        "intents": intents_for(settings.members_intent),
        "help_command": None,
        "allowed_mentions": discord.AllowedMentions.none(),
        "max_ratelimit_timeout": MAX_RATELIMIT_TIMEOUT,
        "guild_ready_timeout": settings.guild_ready_timeout,
    }


class StorywatchBot(StorywatchMixin, commands.Bot):
    def __init__(self, services: Services) -> None:
        super().__init__(**_bot_options(services))
        self._init_storywatch(services)


class ShardedStorywatchBot(StorywatchMixin, commands.AutoShardedBot):
    def __init__(self, services: Services) -> None:
        settings = services.settings.discord
        options = _bot_options(services)
        if settings.shard_ids is not None:
            options["shard_ids"] = settings.shard_ids
        super().__init__(shard_count=settings.shard_count, **options)
        self._init_storywatch(services)


def create_bot(services: Services) -> commands.Bot | commands.AutoShardedBot:
    if services.settings.discord.shard_count:
        return ShardedStorywatchBot(services)
    return StorywatchBot(services)
