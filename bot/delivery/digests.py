"""Messages that gather what was held back for members: hourly and daily digests, and
the pings held during a server's quiet hours, sent when they end."""

from __future__ import annotations

import logging

from bot.delivery.context import SendContext
from bot.delivery.job_lease import DIGESTS, QUIET_PINGS, JobLease, exclusively
from bot.delivery.policy_reader import policy_for
from bot.delivery.render import mention_line, nonce_for, render_digest, split_mentions
from bot.delivery.timing import in_quiet_hours
from bot.delivery.transport import SendFailure
from db.repo import digests as digest_repo
from db.repo import items as item_repo

log = logging.getLogger("storywatch.deliver")


async def send_digests(ctx: SendContext) -> int:
    """One message per member and channel at the period's end, grouped by story; by one
    worker at a time (``job_lease``), which takes the job only when a digest is due."""
    async with ctx.sessions() as session:
        if not await digest_repo.due_digests(session, now=ctx.clock(), limit=1):
            return 0
    async with exclusively(ctx, DIGESTS) as lease:
        return 0 if lease is None else await _send_due_digests(ctx, lease)


async def _send_due_digests(ctx: SendContext, lease: JobLease) -> int:
    now = ctx.clock()
    async with ctx.sessions() as session:  # read under the lease: another worker may have sent some
        due = await digest_repo.due_digests(session, now=now)
        articles = await item_repo.items_with_feed_names(
            session, sorted({e.item_id for entries in due.values() for e in entries})
        )
    sent = 0
    for (guild_id, channel_id, user_id, dm, period), entries in due.items():
        if not lease.held:
            break
        found = [(articles[e.item_id], e.query) for e in entries if e.item_id in articles]
        stories: dict[str, list[tuple[str, str | None, str]]] = {}
        for (item, feed_name), _query in found:
            key = item.story_id or f"item:{item.id}"
            stories.setdefault(key, []).append((item.title, item.link, item.source_name or feed_name))
        queries = sorted({e.query for e in entries})
        content = render_digest(period, queries, list(stories.values()), mention=None if dm else user_id)
        nonce = nonce_for(entries[0].id, 7)
        try:
            if dm:
                message_id = await ctx.transport.send_dm(user_id, content=content, embed=None, nonce=nonce)
            else:
                message_id = await ctx.transport.send(
                    channel_id, content=content, embeds=[], user_ids=[user_id], nonce=nonce
                )
        except SendFailure as failure:
            log.warning(
                "digest not sent: %s",
                failure,
                extra={"guild_id": guild_id, "channel_id": channel_id},
            )
            if failure.status is not None and 400 <= failure.status < 500 and failure.status != 429:
                async with ctx.sessions.begin() as session:  # permanent: don't retry every minute
                    await digest_repo.mark_digest_sent(session, [e.id for e in entries], now=now)
                    await lease.renew(session)
            else:
                await lease.renew_alone()
            continue
        async with ctx.sessions.begin() as session:
            await digest_repo.mark_digest_sent(session, [e.id for e in entries], now=ctx.clock())
            await lease.renew(session)
        log.info(
            "digest sent",
            extra={"guild_id": guild_id, "channel_id": channel_id, "message_id": message_id},
        )
        sent += 1
    return sent


async def release_quiet_pings(ctx: SendContext) -> int:
    """When a server's quiet hours end, one message per channel pings the members held
    back; by one worker at a time (``job_lease``), taken only while pings are held."""
    async with ctx.sessions() as session:
        if not await digest_repo.held_pings(session, limit=1):
            return 0
    async with exclusively(ctx, QUIET_PINGS) as lease:
        return 0 if lease is None else await _release_held_pings(ctx, lease)


async def _release_held_pings(ctx: SendContext, lease: JobLease) -> int:
    now = ctx.clock()
    async with ctx.sessions() as session:
        held = await digest_repo.held_pings(session)
    sent = 0
    for guild_id, pings in held.items():
        if not lease.held:
            break
        policy = await policy_for(ctx, guild_id)
        if in_quiet_hours(now, policy.quiet_hours, policy.timezone):
            continue
        by_channel: dict[int, list[int]] = {}
        for ping in pings:
            by_channel.setdefault(ping.channel_id, []).append(ping.id)
        for channel_id, ids in by_channel.items():
            channel_pings = [p for p in pings if p.id in set(ids)]
            users = sorted({p.user_id for p in channel_pings})
            alerts = len({p.delivery_id for p in channel_pings})
            text = (
                f"🔔 While quiet hours were on, {alerts} alert{'s' if alerts != 1 else ''} above matched your follows."
            )
            try:
                for part, chunk in enumerate(split_mentions(users, limit=1800)):
                    await ctx.transport.send(
                        channel_id,
                        content=f"{mention_line(chunk)} {text}",
                        embeds=[],
                        user_ids=chunk,
                        nonce=nonce_for(ids[0], 20 + part),
                    )
            except SendFailure as failure:
                log.warning("quiet-hours pings not sent: %s", failure, extra={"channel_id": channel_id})
                await lease.renew_alone()
                if not lease.held:
                    break
                continue
            async with ctx.sessions.begin() as session:
                await digest_repo.mark_pings_sent(session, ids, now=ctx.clock())
                await lease.renew(session)
            sent += 1
            if not lease.held:
                break
    return sent
