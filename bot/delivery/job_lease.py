"""One worker at a time for the sender jobs that walk a shared list: digests, flood-cap
summaries and the pings held by quiet hours.

Alerts are claimed row by row under a lease (``claim_due``); these jobs instead read
everything due and send it, in every worker, so two workers running one at the same
moment would each send every message, leaving it to Discord's nonce check to drop the
second copy, and only within its few minutes. The job's lease is renewed with each message
marked sent; a worker that dies holding it is replaced once it runs out.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.context import SendContext
from db.repo import job_leases as lease_repo

log = logging.getLogger("storywatch.deliver")

DIGESTS = "send-digests"
SUMMARIES = "send-summaries"
QUIET_PINGS = "release-quiet-pings"


@dataclass
class JobLease:
    """A job this worker holds; ``held`` turns False once another worker took it over."""

    ctx: SendContext
    name: str
    held: bool = True

    async def renew(self, session: AsyncSession) -> None:
        """Extend the lease in the caller's transaction: the one that marks a message sent."""
        ctx = self.ctx
        self.held = await lease_repo.take(session, self.name, ctx.worker_id, now=ctx.clock(), lease=ctx.lease)

    async def renew_alone(self) -> None:
        """Extend the lease after a message that failed and stays due: a run of failures
        (each waiting out Discord's retries) must not outlast the lease unnoticed."""
        async with self.ctx.sessions.begin() as session:
            await self.renew(session)


@asynccontextmanager
async def exclusively(ctx: SendContext, name: str) -> AsyncIterator[JobLease | None]:
    """The job's lease for the block, or None while another worker holds it."""
    async with ctx.sessions.begin() as session:
        taken = await lease_repo.take(session, name, ctx.worker_id, now=ctx.clock(), lease=ctx.lease)
    if not taken:
        yield None
        return
    lease = JobLease(ctx, name)
    try:
        yield lease
    finally:
        if lease.held:
            try:
                async with ctx.sessions.begin() as session:
                    await lease_repo.release(session, name, ctx.worker_id)
            except Exception as exc:  # it runs out by itself; the next worker waits for that
                log.warning("job lease %s not released: %s", name, exc)
