"""Locks a transaction holds until it ends, for work that several workers must not
interleave: PostgreSQL advisory locks, and on SQLite the database's one write lock.

Each lock is a 64-bit number that no other code takes, spelled in ASCII so it is
recognizable in ``pg_locks``.
"""

from __future__ import annotations

from sqlalchemy import false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import is_postgres
from db.models import Story

STORY_OPENING = 0x73776F70656E7374  # "swopenst": saving stories this worker opened
DELIVERY_CLAIM = 0x7377636C61696D73  # "swclaims": claiming pending deliveries


async def hold(session: AsyncSession, lock: int) -> None:
    """Until the caller's transaction ends, no other transaction holding ``lock`` runs.

    PostgreSQL: a transaction-level advisory lock. SQLite: its one write lock, taken by a
    write that changes nothing, which every process's write transactions queue on; taken
    before the transaction reads, so what it reads is not stale by the time it writes.
    """
    if is_postgres(session):
        await session.execute(select(func.pg_advisory_xact_lock(lock)))
    else:
        await session.execute(
            update(Story).where(false()).values(saved_at=None).execution_options(synchronize_session=False)
        )
