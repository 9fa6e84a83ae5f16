"""What a refused send does to its row and channel (retry, drop, pause, remove), and the
periodic probe that lets paused channels try again."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.delivery.context import SendContext
from bot.delivery.decide import decide_failure
from bot.delivery.transport import SendFailure
from db.models import Delivery
from db.repo import deliveries as delivery_repo
from db.repo import follows as follow_repo

log = logging.getLogger("storywatch.deliver")


async def handle_failure(ctx: SendContext, row: Delivery, failure: SendFailure) -> str:
    """Apply what a refused send means for its row (retry later, drop it) or its channel
    (pause it, or remove its follows when it is gone), telling the channel's followers once;
    returns the row's outcome for the drain: "failed", or "blocked" to stop the channel."""
    decision = decide_failure(failure, attempts=row.attempts)
    now = ctx.clock()
    ctx.metrics.inc("storywatch_send_failures_total", action=decision.action)
    log.warning(
        "alert not sent (%s): %s",
        decision.action,
        decision.reason,
        extra={"guild_id": row.guild_id, "channel_id": row.channel_id, "delivery_id": row.id},
    )
    followers: list[int] = []
    notice = ""
    async with ctx.sessions.begin() as session:
        if decision.action == "retry":
            await delivery_repo.mark_retry(
                session, row.id, at=now + timedelta(seconds=decision.delay), error=decision.reason
            )
            return "blocked" if failure.status in (403, 429) else "failed"
        if decision.action == "drop":
            await delivery_repo.mark_failed(session, row.id, error=decision.reason)
            return "failed"
        if decision.action == "pause":
            # The row stays pending: it goes out when the channel works again.
            await delivery_repo.mark_retry(session, row.id, at=now, error=decision.reason)
            newly = await delivery_repo.pause_channel(
                session,
                channel_id=row.channel_id,
                guild_id=row.guild_id,
                reason=decision.reason,
                now=now,
            )
            followers = await follow_repo.channel_followers(session, row.channel_id) if newly else []
            notice = (
                f"Storywatch paused your follows in <#{row.channel_id}>: {decision.reason}. "
                "Ask a server admin to give the bot View Channel and Send Messages there; "
                "alerts resume by themselves once it can post."
            )
        else:  # remove
            await delivery_repo.cancel_channel(session, row.channel_id, reason=decision.reason)
            gone = await follow_repo.remove_channel(session, channel_id=row.channel_id)
            followers = sorted({f.user_id for f in gone})
            notice = f"Your Storywatch follows in a channel that no longer exists were removed ({decision.reason})."
    for user_id in followers:
        await ctx.transport.notify_member(row.guild_id, user_id, notice)
    return "blocked"


async def probe_paused_channels(ctx: SendContext) -> int:
    """Every 30 minutes (and on channel/role updates): let paused channels try again.

    Resuming only lifts the pause; the next pending alert is the probe. If it fails
    with 403 again the channel is paused again, without telling its followers twice.
    """
    async with ctx.sessions.begin() as session:
        await delivery_repo.expire_paused(session, before=ctx.clock() - timedelta(hours=ctx.alerts.story_window_hours))
        paused = await delivery_repo.paused_channels(session)
        for state in paused:
            state.paused = False  # the reason and paused_at stay, so a new 403 isn't a new pause
    return len(paused)
