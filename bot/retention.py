"""Forgetting what is past retention: one worker a period prunes the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.engine import SessionFactory
from db.repo import items as item_repo
from db.repo import job_leases as lease_repo

PRUNE_EVERY = timedelta(hours=6)
PRUNE_LEASE = "prune-items"
# The lease marks the period as done and is left to run out, not released; a little
# shorter than the period, so the next run, by whichever worker, finds it over.
_PERIOD_DONE = PRUNE_EVERY - timedelta(minutes=10)


async def prune_stored(
    sessions: SessionFactory, worker_id: str, *, now: datetime, retention: timedelta
) -> tuple[int, int] | None:
    """Delete items older than ``retention`` and dedup keys older than twice that (so a
    re-sent old item stays seen); (items, keys) deleted, or None when another worker
    already pruned this period. Every worker runs the job: without the lease, each ran the
    same bulk deletes at about the same time (they start together)."""
    async with sessions.begin() as session:
        if not await lease_repo.take(session, PRUNE_LEASE, worker_id, now=now, lease=_PERIOD_DONE):
            return None
        return await item_repo.prune_items(session, items_before=now - retention, keys_before=now - 2 * retention)
