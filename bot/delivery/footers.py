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
from bot.delivery.embeds import embed_for
from bot.delivery.policy import outlets_line
from bot.delivery.transport import SendFailure
from db.models import ChannelStory
from db.repo import deliveries as delivery_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo

log = logging.getLogger("storywatch.deliver")

# Footers taken per round. Between rounds newly queued alerts take precedence.
EDITS_PER_ROUND = 10


def footer_text(outlets: list[str], article_count: int) -> str:
    """``+2 outlets: Us Weekly, Page Six``; one outlet: how many articles the thread holds."""
    in_thread = article_count - 1  # the first alert is not in its thread
    return outlets_line(outlets) or f"{in_thread} article{'s' if in_thread != 1 else ''} in the thread"


async def refresh_story_footers(ctx: SendContext) -> int:
    """Edit the first alerts whose footer is behind their thread; returns how many.

    Stops early, leaving the rest for the next drain, as soon as a poll queues alerts.
    """
    edited = 0
    while not ctx.queued.is_set():
        async with ctx.sessions.begin() as session:
            stale = await story_repo.stale_footers(session, limit=EDITS_PER_ROUND)
            taken = [story for story in stale if await story_repo.claim_footer(session, story)]
            edits = [(story, await _root_embed(session, story)) for story in taken]
        if not stale:
            break
        done = await asyncio.gather(*(_edit(ctx, story, embed) for story, embed in edits if embed is not None))
        edited += sum(done)
    return edited


async def _root_embed(session: AsyncSession, story: ChannelStory) -> dict[str, object] | None:
    """The story's first alert as it should look now; None when its article is gone."""
    root = await delivery_repo.get_delivery(session, story.root_delivery_id)
    if root is None:
        return None
    found = (await item_repo.items_with_feed_names(session, [root.item_id])).get(root.item_id)
    if found is None:
        return None
    item, feed_name = found
    queries = tuple(q for q in root.queries.split("\n") if q)
    outlets = [o for o in story.outlets.split("\n") if o]
    return embed_for(item, feed_name, queries, footer_text(outlets, story.article_count))


async def _edit(ctx: SendContext, story: ChannelStory, embed: dict[str, object]) -> bool:
    try:
        await ctx.transport.edit_embed(story.channel_id, story.root_message_id, embed)
    except SendFailure as failure:  # cosmetic: the next article in the thread tries again
        log.info("could not update a story's first alert: %s", failure, extra={"channel_id": story.channel_id})
        return False
    return True
