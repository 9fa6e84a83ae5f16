"""The sender job: drain the outbox into Discord, exactly once per (channel, article).

Each outbox row is sent with a nonce derived from its id (``enforce_nonce``), so a
re-send after a crash or a timed-out request is deduplicated by Discord itself within
its nonce window. The row is marked sent, with the message id, right after the send.

Per row, in order: later coverage of a story already alerted in the channel goes into
the story's thread without a new ping; otherwise the channel's flood cap decides
between a normal alert and holding the row for the window's one summary message. New
alerts due in a channel together share one message (a bundle, up to ``bundle_max``),
whose nonce comes from all of its rows' ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.context import SendContext
from bot.delivery.direct import deliver_dm
from bot.delivery.embeds import embed_for, follow_queries
from bot.delivery.failures import handle_failure
from bot.delivery.footers import refresh_story_footers
from bot.delivery.policy import AlertPolicy, FloodWindow, story_is_open
from bot.delivery.policy_reader import PolicyReader
from bot.delivery.render import EMBED_TOTAL_LIMIT, bundle_nonce, embed_length, mention_line, split_mentions
from bot.delivery.summaries import send_summaries
from bot.delivery.threads import deliver_in_thread
from bot.delivery.timing import in_quiet_hours
from bot.delivery.transport import SendFailure
from db.models import ChannelStory, Delivery, Item
from db.repo import deliveries as delivery_repo
from db.repo import digests as digest_repo
from db.repo import follows as follow_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo

log = logging.getLogger("storywatch.deliver")
CLAIM_PER_CHANNEL = 5  # Discord lets a channel take about 5 messages per 5 s


async def deliver_due(ctx: SendContext) -> int:
    """Send what is due; returns how many deliveries went out. Runs until drained, then
    brings story footers up to date, going back to alerts as soon as more are queued."""
    sent = await send_summaries(ctx)
    policies = PolicyReader(ctx)
    while True:
        sent += await _drain(ctx, policies)
        await refresh_story_footers(ctx)
        if not ctx.queued.is_set():
            break
    async with ctx.sessions() as session:
        ctx.metrics.set("storywatch_queue_length", await delivery_repo.pending_count(session))
    return sent


async def _drain(ctx: SendContext, policies: PolicyReader) -> int:
    """Send claimed rows until none are due; returns how many went out.

    Each channel is sent to by its own task, in order. There is no batch barrier: while a
    channel waits out its rate limit, rows newly queued for other channels are claimed as
    soon as a poll announces them (``ctx.queued``) or a channel finishes, so one busy
    channel never delays the first alert anywhere else.
    """
    sent = 0
    running: dict[int, asyncio.Task[int]] = {}  # channel id -> the task sending to it
    gate = asyncio.Semaphore(ctx.channel_concurrency)  # channels sending at once
    try:
        while True:
            ctx.queued.clear()  # what is queued from here on is seen by the claim below
            if len(running) < ctx.channel_concurrency:
                for channel_id, rows, articles in await _claim_channels(ctx, busy=running.keys()):
                    running[channel_id] = asyncio.create_task(
                        _send_to_channel(ctx, rows, articles, gate, policies), name=f"send-channel-{channel_id}"
                    )
            if not running:
                break
            queued = asyncio.create_task(ctx.queued.wait())
            try:
                await asyncio.wait(
                    [*running.values(), queued], timeout=ctx.refill_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                queued.cancel()
            for channel_id, task in list(running.items()):
                if task.done():
                    del running[channel_id]
                    sent += task.result()
    except asyncio.CancelledError:
        # Shutdown: the channels stop too. A row cut off mid-send keeps its lease and is
        # sent again after it, with the same nonce, so Discord keeps one message.
        for task in running.values():
            task.cancel()
        raise
    finally:
        # Never leave a channel task running behind the job (a failed claim included:
        # the channels finish what they hold).
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)
    return sent


async def _claim_channels(
    ctx: SendContext, *, busy: Collection[int]
) -> list[tuple[int, list[Delivery], dict[int, tuple[Item, str]]]]:
    """Claim due rows of channels not being sent to: (channel, its rows in order, articles)."""
    async with ctx.sessions.begin() as session:
        batch = await delivery_repo.claim_due(
            session,
            now=ctx.clock(),
            worker=ctx.worker_id,
            lease=ctx.lease,
            limit=ctx.batch_size,
            per_channel=max(CLAIM_PER_CHANNEL, ctx.alerts.bundle_max),
            busy_channels=busy,
        )
        articles = await item_repo.items_with_feed_names(session, [d.item_id for d in batch])
    by_channel: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in batch:
        by_channel[delivery.channel_id].append(delivery)
    return [(channel_id, rows, articles) for channel_id, rows in by_channel.items()]


async def _send_to_channel(
    ctx: SendContext,
    rows: list[Delivery],
    articles: dict[int, tuple[Item, str]],
    gate: asyncio.Semaphore,
    policies: PolicyReader,
) -> int:
    """Send one channel's claimed rows in order; returns how many went out."""
    async with gate:
        return await _send_in_order(ctx, rows, articles, policies)


async def _send_in_order(
    ctx: SendContext, rows: list[Delivery], articles: dict[int, tuple[Item, str]], policies: PolicyReader
) -> int:
    done = index = 0
    while index < len(rows):
        try:
            used, sent, blocked = await _deliver_next(ctx, rows[index:], articles, policies)
        except Exception:
            log.exception("delivery crashed; it will be retried", extra={"delivery_id": rows[index].id})
            await _requeue(ctx, rows[index:], delay=30.0)
            break
        done += sent
        index += used
        if blocked:
            await _requeue(ctx, rows[index:], delay=0.0)
            break
    return done


async def _requeue(ctx: SendContext, rows: list[Delivery], *, delay: float) -> None:
    """Hand claimed rows back (a channel is blocked): they keep their place in line."""
    if not rows:
        return
    at = ctx.clock() + timedelta(seconds=delay)
    async with ctx.sessions.begin() as session:
        for row in rows:
            await delivery_repo.mark_retry(session, row.id, at=at, error=row.last_error or "requeued")


@dataclass(frozen=True)
class _Alert:
    """A row that goes out as a new alert, with its article and embed."""

    row: Delivery
    item: Item
    feed_name: str
    embed: dict[str, object]


def _alert(row: Delivery, item: Item, feed_name: str) -> _Alert:
    return _Alert(row, item, feed_name, embed_for(item, feed_name, follow_queries(row)))


def _tally(outcomes: list[str]) -> tuple[int, bool]:
    """(rows sent, channel blocked) from per-row outcomes: sent, held, failed, blocked."""
    return outcomes.count("sent"), "blocked" in outcomes


async def _deliver_next(
    ctx: SendContext, rows: list[Delivery], articles: dict[int, tuple[Item, str]], policies: PolicyReader
) -> tuple[int, int, bool]:
    """Deliver ``rows[0]``, and with it the rows after it that go out as new alerts too
    (one message). Returns (rows used, rows sent, channel blocked: stop for now)."""
    row = rows[0]
    found = articles.get(row.item_id)
    if found is None:  # the item was pruned before it could be sent
        async with ctx.sessions.begin() as session:
            await delivery_repo.mark_failed(session, row.id, error="article no longer stored")
        return 1, 0, False
    item, feed_name = found
    if row.kind == "dm":
        return 1, *_tally([await deliver_dm(ctx, row, item, feed_name)])
    policy = await policies.of(row.guild_id)
    now = ctx.clock()
    bundle: list[_Alert] = []
    async with ctx.sessions() as session:
        story = await _open_story(session, row, item, policy, now)
        window = FloodWindow(*await delivery_repo.flood_window(session, row.channel_id))
        if story is None:
            admitted, window = window.admit(now, policy)
            if admitted:
                bundle.append(_alert(row, item, feed_name))
                window = await _extend_bundle(session, bundle, rows[1:], articles, policy, window, now)
    if story is not None:
        return 1, *_tally([await deliver_in_thread(ctx, row, item, feed_name, story, policy)])
    if not bundle:  # over the channel's flood cap: it waits for the window's summary
        async with ctx.sessions.begin() as session:
            await delivery_repo.mark_held(session, row.id, until=window.closes_at(policy) or now)
        ctx.metrics.inc("storywatch_alerts_held_total")
        return 1, 0, False
    return len(bundle), *_tally(await _deliver_alerts(ctx, bundle, window, policy))


async def _open_story(
    session: AsyncSession, row: Delivery, item: Item, policy: AlertPolicy, now: datetime
) -> ChannelStory | None:
    """The story this row is later coverage of in its channel, if its thread is open."""
    if policy.story_mode != "thread" or not item.story_id:
        return None
    story = await story_repo.channel_story(session, row.channel_id, item.story_id)
    return story if story is not None and story_is_open(story.last_article_at, now, policy) else None


async def _extend_bundle(
    session: AsyncSession,
    bundle: list[_Alert],
    following: list[Delivery],
    articles: dict[int, tuple[Item, str]],
    policy: AlertPolicy,
    window: FloodWindow,
    now: datetime,
) -> FloodWindow:
    """Add the rows after the first that go out as new alerts too, while the message has
    room; stops at the first row that goes another way (a DM, later coverage, held by the
    flood cap), so the channel's order is kept. Returns the flood window after them."""
    stories = {bundle[0].item.story_id}
    length = embed_length(bundle[0].embed)
    for row in following[: policy.bundle_max - 1]:
        found = articles.get(row.item_id)
        if row.kind == "dm" or found is None:
            break
        item, feed_name = found
        if policy.story_mode == "thread" and item.story_id and item.story_id in stories:
            break  # later coverage of a story this message opens: its thread, after
        if await _open_story(session, row, item, policy, now) is not None:
            break
        admitted, extended = window.admit(now, policy)
        if not admitted:
            break
        alert = _alert(row, item, feed_name)
        length += embed_length(alert.embed)
        if length > EMBED_TOTAL_LIMIT:
            break
        bundle.append(alert)
        stories.add(item.story_id)
        window = extended
    return window


async def _deliver_alerts(
    ctx: SendContext, bundle: list[_Alert], window: FloodWindow, policy: AlertPolicy
) -> list[str]:
    """New alerts in one message (one embed each); each member is pinged once."""
    first = bundle[0].row
    wanted = dict.fromkeys(int(u) for alert in bundle for u in alert.row.user_ids.split())
    user_ids = await _still_members(ctx, first.guild_id, list(wanted))
    quiet = in_quiet_hours(ctx.clock(), policy.quiet_hours, policy.timezone)
    # Quiet hours: post, but ping nobody; the pings are gathered when they end.
    chunks = [[]] if quiet else (split_mentions(user_ids) or [[]])
    ids = [alert.row.id for alert in bundle]
    try:
        first_id = 0
        for part, chunk in enumerate(chunks):
            message_id = await ctx.transport.send(
                first.channel_id,
                content=mention_line(chunk) or None,
                embeds=[alert.embed for alert in bundle] if part == 0 else [],
                user_ids=chunk,
                nonce=bundle_nonce(ids, part),
                alert_buttons=part == 0 and policy.alert_buttons,
            )
            first_id = first_id or message_id
    except SendFailure as failure:
        return [await handle_failure(ctx, alert.row, failure) for alert in bundle]
    now = ctx.clock()
    present = set(user_ids)
    async with ctx.sessions.begin() as session:
        for alert in bundle:
            row, item = alert.row, alert.item
            row_users = [u for u in (int(x) for x in row.user_ids.split()) if u in present]
            await delivery_repo.mark_sent(session, row.id, message_id=first_id, now=now, sent_as="alert")
            if quiet:
                await digest_repo.hold_pings(
                    session,
                    guild_id=row.guild_id,
                    channel_id=row.channel_id,
                    user_ids=row_users,
                    delivery_id=row.id,
                    now=now,
                )
            if item.story_id and policy.story_mode == "thread":
                await story_repo.open_channel_story(
                    session,
                    channel_id=row.channel_id,
                    guild_id=row.guild_id,
                    story_id=item.story_id,
                    root_message_id=first_id,
                    root_delivery_id=row.id,
                    outlet=item.source_name or alert.feed_name,
                    user_ids=row_users,
                    now=now,
                )
        await delivery_repo.note_alert(session, channel_id=first.channel_id, guild_id=first.guild_id, now=now)
        await delivery_repo.set_flood_window(
            session, channel_id=first.channel_id, guild_id=first.guild_id, start=window.start, count=window.count
        )
        await delivery_repo.resume_channel(session, first.channel_id)
    ctx.metrics.inc("storywatch_alerts_sent_total", len(bundle))
    log.info(
        "alert sent",
        extra={
            "guild_id": first.guild_id,
            "channel_id": first.channel_id,
            "delivery_id": first.id,
            "alerts": len(bundle),
        },
    )
    return ["sent"] * len(bundle)


async def _still_members(ctx: SendContext, guild_id: int, user_ids: list[int]) -> list[int]:
    if not ctx.check_membership:
        return user_ids
    present: list[int] = []
    for user_id in user_ids:
        member = await ctx.transport.is_member(guild_id, user_id)
        if member is False:
            async with ctx.sessions.begin() as session:
                await follow_repo.remove_member(session, guild_id=guild_id, user_id=user_id)
            log.info("follower left the server; follows dropped", extra={"guild_id": guild_id})
            continue
        present.append(user_id)  # None (could not tell): mention rather than lose the alert
    return present
