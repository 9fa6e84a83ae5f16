"""Alerts of follows with dm:true: a direct message to the member (no cap, no thread)."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.context import SendContext
from bot.delivery.decide import backoff
from bot.delivery.embeds import embed_for, follow_queries
from bot.delivery.render import nonce_for
from bot.delivery.transport import SendFailure
from db.models import Delivery, Item
from db.repo import deliveries as delivery_repo


async def deliver_dm(ctx: SendContext, row: Delivery, item: Item, feed_name: str) -> str:
    """A follow with dm:true: the alert goes to the member privately (no cap, no thread)."""
    queries = follow_queries(row)
    user_id = int(row.user_ids.split()[0])
    try:
        message_id = await ctx.transport.send_dm(
            user_id,
            content=None,
            embed=embed_for(item, feed_name, queries),
            nonce=nonce_for(row.id),
        )
    except SendFailure as failure:
        retry = failure.status is None or failure.status == 429 or failure.status >= 500
        async with ctx.sessions.begin() as session:
            if retry and row.attempts < 10:
                delay = failure.retry_after or backoff(row.attempts)
                await delivery_repo.mark_retry(
                    session, row.id, at=ctx.clock() + timedelta(seconds=delay), error=str(failure)
                )
            else:
                await delivery_repo.mark_failed(session, row.id, error=f"direct message refused: {failure}")
        return "failed"
    async with ctx.sessions.begin() as session:
        await delivery_repo.mark_sent(session, row.id, message_id=message_id, now=ctx.clock(), sent_as="dm")
    ctx.metrics.inc("storywatch_alerts_sent_total")
    return "sent"
