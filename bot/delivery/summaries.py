"""The one summary a channel gets for the alerts its flood cap held back in a window."""

from __future__ import annotations

import logging

from bot.delivery.context import SendContext
from bot.delivery.job_lease import SUMMARIES, JobLease, exclusively
from bot.delivery.render import nonce_for, render_summary
from bot.delivery.transport import SendFailure
from db.repo import deliveries as delivery_repo
from db.repo import items as item_repo

log = logging.getLogger("storywatch.deliver")


async def send_summaries(ctx: SendContext) -> int:
    """One summary per channel whose window closed with alerts held back; pings nobody. By
    one worker at a time (``job_lease``), which takes the job only when one is due."""
    async with ctx.sessions() as session:
        if not await delivery_repo.due_summaries(session, now=ctx.clock(), limit=1):
            return 0
    async with exclusively(ctx, SUMMARIES) as lease:
        return 0 if lease is None else await _send_due_summaries(ctx, lease)


async def _send_due_summaries(ctx: SendContext, lease: JobLease) -> int:
    async with ctx.sessions() as session:  # read under the lease: another worker may have sent some
        due = await delivery_repo.due_summaries(session, now=ctx.clock())
        articles = await item_repo.items_with_feed_names(
            session, [row.item_id for rows in due.values() for row in rows]
        )
    sent = 0
    for channel_id, rows in due.items():
        if not lease.held:
            break
        lines = []
        for row in rows:
            found = articles.get(row.item_id)
            if found:
                item, feed_name = found
                lines.append((item.title, item.link, item.source_name or feed_name))
        content = render_summary(lines)
        try:
            message_id = await ctx.transport.send(
                channel_id, content=content, embeds=[], user_ids=[], nonce=nonce_for(rows[0].id, 9)
            )
        except SendFailure as failure:
            log.warning("summary not sent: %s", failure, extra={"channel_id": channel_id})
            await lease.renew_alone()
            continue
        async with ctx.sessions.begin() as session:
            await delivery_repo.mark_summarized(session, [r.id for r in rows], message_id=message_id, now=ctx.clock())
            await lease.renew(session)
        ctx.metrics.inc("storywatch_summaries_sent_total")
        sent += len(rows)
    return sent
