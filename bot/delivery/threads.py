"""Later coverage of a story already alerted in the channel: a post in the thread under
its first alert, pinging only the members not pinged for the story yet."""

from __future__ import annotations

from bot.delivery.context import SendContext
from bot.delivery.embeds import embed_for, follow_queries
from bot.delivery.failures import handle_failure
from bot.delivery.policy import AlertPolicy
from bot.delivery.render import mention_line, nonce_for, story_label, thread_name
from bot.delivery.timing import in_quiet_hours
from bot.delivery.transport import SendFailure
from db.models import ChannelStory, Delivery, Item
from db.repo import deliveries as delivery_repo
from db.repo import digests as digest_repo
from db.repo import stories as story_repo

ARCHIVED_THREAD = 50083


async def deliver_in_thread(
    ctx: SendContext, row: Delivery, item: Item, feed_name: str, story: ChannelStory, policy: AlertPolicy
) -> str:
    """Later coverage: a message in the story's thread; only members not yet pinged are."""
    queries = follow_queries(row)
    pinged = {int(u) for u in story.pinged_user_ids.split()}
    new_users = [int(u) for u in row.user_ids.split() if int(u) not in pinged]
    held: list[int] = []
    if new_users and in_quiet_hours(ctx.clock(), policy.quiet_hours, policy.timezone):
        held, new_users = new_users, []
    embed = embed_for(item, feed_name, queries)
    async with ctx.sessions() as session:
        headlines = await story_repo.root_headlines(session, row.channel_id, story.root_message_id)
    # The stories first alerted in one message (a bundle) share its thread: a post there
    # says which story it continues.
    continues = headlines.get(story.story_id, "") if len(headlines) > 1 else ""
    label = story_label(continues) if continues else None
    thread_id = story.thread_id
    try:
        if thread_id is None:
            thread_id = await ctx.transport.create_thread(
                row.channel_id, story.root_message_id, name=thread_name(list(headlines.values()))
            )
            async with ctx.sessions.begin() as session:
                await story_repo.set_root_thread(session, row.channel_id, story.root_message_id, thread_id)
        message_id = await _send_to_thread(ctx, thread_id, row, embed, new_users, label)
    except SendFailure as failure:
        return await handle_failure(ctx, row, failure)
    outlet = item.source_name or feed_name
    now = ctx.clock()
    async with ctx.sessions.begin() as session:
        stored = await story_repo.channel_story(session, row.channel_id, story.story_id)
        if stored is not None:  # its first alert's footer catches up after the queue
            outlets = stored.outlets.split("\n")
            if outlet not in outlets:
                stored.outlets = "\n".join([*outlets, outlet])
            stored.article_count += 1
            stored.last_article_at = now
            stored.pinged_user_ids = " ".join(str(u) for u in sorted(pinged | set(new_users) | set(held)))
        await delivery_repo.mark_sent(session, row.id, message_id=message_id, now=now, sent_as="thread")
        await digest_repo.hold_pings(
            session,
            guild_id=row.guild_id,
            channel_id=row.channel_id,
            user_ids=held,
            delivery_id=row.id,
            now=now,
        )
    ctx.metrics.inc("storywatch_thread_posts_total")
    return "sent"


async def _send_to_thread(
    ctx: SendContext, thread_id: int, row: Delivery, embed: dict[str, object], users: list[int], label: str | None
) -> int:
    content = "\n".join(line for line in (label, mention_line(users)) if line) or None

    async def attempt() -> int:
        return await ctx.transport.send(
            thread_id,
            content=content,
            embeds=[embed],
            user_ids=users,
            nonce=nonce_for(row.id),
        )

    try:
        return await attempt()
    except SendFailure as failure:
        if failure.code != ARCHIVED_THREAD:
            raise
    await ctx.transport.unarchive_thread(thread_id)
    return await attempt()
