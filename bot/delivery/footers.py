"""Story footers: a story's first alert says which outlets its thread has gathered.

Keeping that footer current is cosmetic, so it never goes ahead of an alert. A thread
post only counts its article (``article_count``); the footers that are behind are edited
here, after the queue is drained, once per story however many articles came in meanwhile.
Under a burst, a story's later coverage in 155 channels used to cost 155 footer edits in
the middle of the queue, ahead of the next stories' first alerts.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.context import SendContext
from bot.delivery.embeds import embed_for, follow_queries
from bot.delivery.policy import outlets_line
from bot.delivery.transport import SendFailure
from db.models import ChannelStory
from db.repo import deliveries as delivery_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo

log = logging.getLogger("storywatch.deliver")

# Stale stories looked at per round. Between rounds newly queued alerts take precedence.
EDITS_PER_ROUND = 10


def footer_text(outlets: list[str], article_count: int) -> str:
    """``+2 outlets: Us Weekly, Page Six``; one outlet: how many articles the thread holds."""
    in_thread = article_count - 1  # the first alert is not in its thread
    return outlets_line(outlets) or f"{in_thread} article{'s' if in_thread != 1 else ''} in the thread"


async def refresh_story_footers(ctx: SendContext) -> int:
    """Edit the first alerts whose footer is behind their thread; returns how many messages.

    Stops early, leaving the rest for the next drain, as soon as a poll queues alerts.
    """
    edited = 0
    while not ctx.queued.is_set():
        edits: list[tuple[int, int, list[dict[str, object]]]] = []
        async with ctx.sessions.begin() as session:
            stale = await story_repo.stale_footers(session, limit=EDITS_PER_ROUND)
            for channel_id, message_id in dict.fromkeys((s.channel_id, s.root_message_id) for s in stale):
                # A bundle's message carries several stories' first alerts: one edit for all.
                stories = await story_repo.stories_of_root(session, channel_id, message_id)
                stale_here = [s for s in stories if s.footer_count < s.article_count]
                if not [s for s in stale_here if await story_repo.claim_footer(session, s)]:
                    continue  # another worker took them
                embeds = await _message_embeds(session, channel_id, message_id, stories)
                if embeds:
                    edits.append((channel_id, message_id, embeds))
        if not stale:
            break
        done = await asyncio.gather(*(_edit(ctx, *edit) for edit in edits))
        edited += sum(done)
    return edited


async def _message_embeds(
    session: AsyncSession, channel_id: int, message_id: int, stories: list[ChannelStory]
) -> list[dict[str, object]] | None:
    """Every alert the message carries, as it should look now; None when one's article is
    gone (the message is left as it is rather than lose an embed)."""
    alerts = await delivery_repo.alerts_in_message(session, channel_id, message_id)
    articles = await item_repo.items_with_feed_names(session, [alert.item_id for alert in alerts])
    story_of = {story.root_delivery_id: story for story in stories}
    embeds: list[dict[str, object]] = []
    for alert in alerts:
        found = articles.get(alert.item_id)
        if found is None:
            return None
        item, feed_name = found
        story = story_of.get(alert.id)
        footer = (
            ""
            if story is None or story.article_count < 2
            else footer_text(story.outlets.split("\n"), story.article_count)
        )
        embeds.append(embed_for(item, feed_name, follow_queries(alert), footer))
    return embeds or None


async def _edit(ctx: SendContext, channel_id: int, message_id: int, embeds: list[dict[str, object]]) -> bool:
    try:
        await ctx.transport.edit_embeds(channel_id, message_id, embeds)
    except SendFailure as failure:  # cosmetic: the next article in the thread tries again
        log.info("could not update a story's first alert: %s", failure, extra={"channel_id": channel_id})
        return False
    return True
