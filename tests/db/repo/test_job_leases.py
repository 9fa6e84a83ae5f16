"""Job leases on both backends: one holder at a time, renewals, expiry, release."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from db.engine import SessionFactory
from db.repo import job_leases as repo

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=50)


async def take(sessions: SessionFactory, holder: str, now: datetime = NOW, name: str = "send-digests") -> bool:
    async with sessions.begin() as session:
        return await repo.take(session, name, holder, now=now, lease=LEASE)


async def test_a_job_has_one_holder_until_its_lease_runs_out(sessions: SessionFactory) -> None:
    assert await take(sessions, "w1")
    assert not await take(sessions, "w2")
    assert not await take(sessions, "w2", NOW + LEASE)  # still held at the very end
    assert await take(sessions, "w2", NOW + LEASE + timedelta(seconds=1))  # w1 died: taken over
    assert not await take(sessions, "w1", NOW + LEASE + timedelta(seconds=2))


async def test_a_holder_renews_its_lease(sessions: SessionFactory) -> None:
    assert await take(sessions, "w1")
    assert await take(sessions, "w1", NOW + timedelta(seconds=40))  # renewed to 40 + 50 s
    assert not await take(sessions, "w2", NOW + timedelta(seconds=80))
    assert await take(sessions, "w2", NOW + timedelta(seconds=91))


async def test_a_released_job_is_free_at_once_and_only_its_holder_releases_it(sessions: SessionFactory) -> None:
    assert await take(sessions, "w1")
    async with sessions.begin() as session:
        await repo.release(session, "send-digests", "w2")  # not w2's: nothing happens
    assert not await take(sessions, "w2")
    async with sessions.begin() as session:
        await repo.release(session, "send-digests", "w1")
    assert await take(sessions, "w2")


async def test_jobs_are_held_apart(sessions: SessionFactory) -> None:
    assert await take(sessions, "w1", name="send-digests")
    assert await take(sessions, "w2", name="send-summaries")


async def test_workers_taking_a_free_job_at_once_give_it_one_holder(sessions: SessionFactory) -> None:
    """Eight workers race for the job in their own transactions (on PostgreSQL, at the same
    time): exactly one wins, including the race on the row's first insert."""
    won = await asyncio.gather(*(take(sessions, f"w{n}") for n in range(8)))
    assert sum(won) == 1
