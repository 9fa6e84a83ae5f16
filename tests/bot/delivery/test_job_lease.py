"""Digests, flood-cap summaries and quiet-hour pings when several workers run their jobs
at once: each message goes out once, from the worker holding the job's lease, and a dead
holder's job is taken over when its lease runs out. Against the in-process Discord
emulator over discord.py, on both database backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import pytest
from sqlalchemy import update

from bot.delivery.context import SendContext
from bot.delivery.digests import release_quiet_pings, send_digests
from bot.delivery.job_lease import DIGESTS, exclusively
from bot.delivery.summaries import send_summaries
from bot.discord_transport import DiscordTransport
from db.engine import SessionFactory
from db.models import Delivery
from db.repo import deliveries as delivery_repo
from db.repo import digests as digest_repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from db.repo import job_leases as lease_repo
from tests.emulator import DiscordEmulator
from tests.emulator.models import StandardGuild
from tests.support.discord_client import logged_in_client
from tests.support.item_rows import item_row

WORKERS = 3


@pytest.fixture
async def client(emulator: DiscordEmulator) -> AsyncIterator[discord.Client]:
    async with logged_in_client(emulator.api_base, emulator.token) as bot:
        yield bot


def worker(sessions: SessionFactory, client: discord.Client, name: str, now: datetime) -> SendContext:
    return SendContext(sessions=sessions, transport=DiscordTransport(client), worker_id=name, clock=lambda: now)


async def store_items(sessions: SessionFactory, now: datetime, count: int) -> list[int]:
    rows = [item_row(f"g:{n}", f"Story {n}", published=now, link=f"https://e.test/{n}") for n in range(count)]
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session,
            url="https://news.example.com/rss",
            name="News",
            kind="config",
            trusted=True,
            interval=300.0,
            now=now,
        )
        stored = await item_repo.record_items(session, feed.id, rows, now=now)
    return [item_id for item_id, _row in stored]


def channel_users(guild: StandardGuild) -> list[tuple[int, int]]:
    """Four (channel, member) pairs: each member in two channels."""
    return [(c, u) for c in (guild.news_channel_id, guild.general_channel_id) for u in guild.member_ids]


async def queue_digests(sessions: SessionFactory, guild: StandardGuild, now: datetime) -> int:
    """Two articles due in the hourly digest of each (channel, member): one digest each."""
    item_ids = await store_items(sessions, now, 2)
    entries = [
        digest_repo.NewDigestEntry(
            guild_id=guild.guild_id,
            channel_id=channel_id,
            user_id=user_id,
            item_id=item_id,
            query="story",
            period="hourly",
            dm=False,
            due_at=now - timedelta(seconds=1),
        )
        for channel_id, user_id in channel_users(guild)
        for item_id in item_ids
    ]
    async with sessions.begin() as session:
        await digest_repo.add_entries(session, entries, now=now)
    return len(channel_users(guild))


async def queue_summaries(sessions: SessionFactory, guild: StandardGuild, now: datetime) -> int:
    """Alerts the flood cap held back in both channels, their window closed: one summary each."""
    item_ids = await store_items(sessions, now, 3)
    channels = (guild.news_channel_id, guild.general_channel_id)
    async with sessions.begin() as session:
        await delivery_repo.enqueue(
            session,
            [
                delivery_repo.NewDelivery(
                    item_id=item_id,
                    guild_id=guild.guild_id,
                    channel_id=channel_id,
                    article_identity=f"item:{item_id}",
                    user_ids=guild.member_ids[:1],
                    queries=("story",),
                )
                for channel_id in channels
                for item_id in item_ids
            ],
            now=now,
        )
        await session.execute(update(Delivery).values(status="held", next_attempt_at=now - timedelta(seconds=1)))
    return len(channels)


async def queue_quiet_pings(sessions: SessionFactory, guild: StandardGuild, now: datetime) -> int:
    """Pings held back in both channels by quiet hours that have ended: one message each."""
    for delivery_id, channel_id in enumerate((guild.news_channel_id, guild.general_channel_id), start=1):
        async with sessions.begin() as session:
            await digest_repo.hold_pings(
                session,
                guild_id=guild.guild_id,
                channel_id=channel_id,
                user_ids=guild.member_ids,
                delivery_id=delivery_id,
                now=now,
            )
    return 2


QUEUES = {
    "digests": (queue_digests, send_digests),
    "summaries": (queue_summaries, send_summaries),
    "quiet pings": (queue_quiet_pings, release_quiet_pings),
}


def sent_messages(emulator: DiscordEmulator, guild: StandardGuild) -> int:
    return len(emulator.messages(guild.news_channel_id)) + len(emulator.messages(guild.general_channel_id))


@pytest.mark.parametrize("kind", sorted(QUEUES))
async def test_workers_running_a_job_at_once_send_each_message_once(
    kind: str, sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    """Without the lease, every worker read the same due list and sent all of it: the
    emulator dropped the copies by their nonce (``nonce_deduplicated``), as Discord does
    only within a few minutes."""
    queue, job = QUEUES[kind]
    guild = emulator.standard_guild()
    now = datetime.now(UTC)
    expected = await queue(sessions, guild, now)
    workers = [worker(sessions, client, f"w{n}", now) for n in range(WORKERS)]

    counts = await asyncio.gather(*(job(ctx) for ctx in workers))

    assert sum(1 for count in counts if count) == 1, f"workers that sent: {counts}"
    assert sent_messages(emulator, guild) == expected
    assert emulator.stats.nonce_deduplicated == 0
    assert await asyncio.gather(*(job(ctx) for ctx in workers)) == [0] * WORKERS  # all of it went out
    assert sent_messages(emulator, guild) == expected


async def test_a_dead_workers_job_is_taken_over_when_its_lease_runs_out(
    sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    guild = emulator.standard_guild()
    now = datetime.now(UTC)
    expected = await queue_digests(sessions, guild, now)
    survivor = worker(sessions, client, "w2", now)
    async with sessions.begin() as session:  # w1 took the job, then died before sending
        assert await lease_repo.take(session, DIGESTS, "w1", now=now, lease=survivor.lease)

    assert await send_digests(survivor) == 0
    assert sent_messages(emulator, guild) == 0

    later = worker(sessions, client, "w2", now + survivor.lease + timedelta(seconds=1))
    assert await send_digests(later) == expected
    assert sent_messages(emulator, guild) == expected
    assert await send_digests(worker(sessions, client, "w3", now)) == 0  # released: nothing is due


async def test_a_worker_whose_job_was_taken_over_stops_and_leaves_the_new_lease_alone(
    sessions: SessionFactory, client: discord.Client
) -> None:
    """A worker stalled past its lease finds out at its next renewal (``held`` turns False:
    its loop stops) and, leaving the block, does not free the job its successor holds."""
    now = datetime.now(UTC)
    stalled = worker(sessions, client, "w1", now)
    successor_time = now + stalled.lease + timedelta(seconds=1)
    async with exclusively(stalled, DIGESTS) as lease:
        assert lease is not None and lease.held
        async with sessions.begin() as session:
            assert await lease_repo.take(session, DIGESTS, "w2", now=successor_time, lease=stalled.lease)
        async with sessions.begin() as session:
            await lease.renew(session)
        assert not lease.held
    async with sessions.begin() as session:
        assert not await lease_repo.take(session, DIGESTS, "w3", now=successor_time, lease=stalled.lease)


async def test_a_worker_that_lost_its_job_mid_run_stops_after_the_message_in_flight(
    sessions: SessionFactory, emulator: DiscordEmulator, client: discord.Client
) -> None:
    """Its first message hangs at Discord until another worker, for which the lease has run
    out, has taken the job: the first worker's renewal fails, it stops, and the successor
    sends the rest; every digest goes out once."""
    guild = emulator.standard_guild()
    now = datetime.now(UTC)
    expected = await queue_digests(sessions, guild, now)
    first = worker(sessions, client, "w1", now)
    successor = worker(sessions, client, "w2", now + first.lease + timedelta(seconds=1))
    emulator.delay_next("POST", r"/messages$", 1.0)

    running = asyncio.create_task(send_digests(first))
    await asyncio.sleep(0.3)  # the first digest is at Discord
    async with sessions.begin() as session:
        assert await lease_repo.take(session, DIGESTS, "w2", now=successor.clock(), lease=first.lease)
    assert await running == 1

    assert await send_digests(successor) == expected - 1
    assert sent_messages(emulator, guild) == expected
    assert emulator.stats.nonce_deduplicated == 0
