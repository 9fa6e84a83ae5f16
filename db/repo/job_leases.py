"""Job leases: which worker runs a job that walks a shared list, until when."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import insert_ignore
from db.models import JobLease


async def take(session: AsyncSession, name: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
    """Hold job ``name`` for ``holder`` until ``now + lease``: True when it was free, ran
    out, or was ``holder``'s already (a renewal); False while another holder's lease runs.

    One UPDATE decides: PostgreSQL re-checks its WHERE against a row another transaction
    just changed, and SQLite runs one write at a time, so two workers never both win.
    """
    await session.execute(insert_ignore(session, JobLease).values(name=name, holder=None, lease_until=None))
    result = await session.execute(
        update(JobLease)
        .where(
            JobLease.name == name,
            or_(JobLease.holder.is_(None), JobLease.holder == holder, JobLease.lease_until < now),
        )
        .values(holder=holder, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Free job ``name`` if ``holder`` still holds it, so the next worker need not wait
    for the lease to run out."""
    await session.execute(
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(holder=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
