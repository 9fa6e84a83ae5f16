"""Open stories (grouping state) and per-channel story threads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import is_postgres
from db.models import ChannelStory, Delivery, Item, Story

CHANNEL_STORIES = cast(Table, ChannelStory.__table__)


async def open_stories(session: AsyncSession, *, since: datetime) -> list[str]:
    return list(await session.scalars(select(Story.state).where(Story.last_seen >= since)))


async def save_stories(session: AsyncSession, stories: Sequence[tuple[str, str, datetime]], *, saved_by: str) -> None:
    """Upsert (story id, state, last seen) rows, stamped with the saving worker and the
    time: PostgreSQL's own clock, which every worker on every machine shares; SQLite
    serves one process on one machine."""
    if not stories:
        return
    saved_at: Any
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert

        saved_at = func.clock_timestamp()  # now() is the transaction's start, not this write
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]

        saved_at = datetime.now(UTC)
    values = [
        {"story_id": sid, "state": state, "last_seen": seen, "saved_by": saved_by, "saved_at": saved_at}
        for sid, state, seen in stories
    ]
    stmt = insert(Story).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Story.story_id],
        set_={column: stmt.excluded[column] for column in ("state", "last_seen", "saved_by", "saved_at")},
    )
    await session.execute(stmt)


async def saved_by_others(
    session: AsyncSession, *, worker: str, since: datetime | None
) -> list[tuple[str, str, datetime]]:
    """(story id, state, saved at) of the stories another worker saved after ``since``
    (all of them with None), oldest save first."""
    stmt = select(Story.story_id, Story.state, Story.saved_at).where(
        Story.saved_by != worker, Story.saved_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(Story.saved_at > since)
    rows = await session.execute(stmt.order_by(Story.saved_at))
    return [(story_id, state, saved_at) for story_id, state, saved_at in rows if saved_at is not None]


async def save_clock(session: AsyncSession) -> datetime:
    """Now, by the clock ``save_stories`` stamps saves with."""
    if is_postgres(session):
        now = await session.scalar(select(func.clock_timestamp()))
        assert isinstance(now, datetime), "clock_timestamp() is a timestamptz"
        return now
    return datetime.now(UTC)


async def threads_in_channel(session: AsyncSession, channel_id: int, story_ids: Sequence[str]) -> dict[str, int]:
    """story id -> the thread that gathers its coverage in this channel, where one exists."""
    if not story_ids:
        return {}
    rows = await session.execute(
        select(ChannelStory.story_id, ChannelStory.thread_id).where(
            ChannelStory.channel_id == channel_id,
            ChannelStory.story_id.in_(list(story_ids)),
            ChannelStory.thread_id.is_not(None),
        )
    )
    return {story_id: int(thread_id) for story_id, thread_id in rows if thread_id is not None}


async def prune_stories(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(Story).where(Story.last_seen < before))
    await session.execute(delete(ChannelStory).where(ChannelStory.last_article_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def channel_story(session: AsyncSession, channel_id: int, story_id: str) -> ChannelStory | None:
    return await session.scalar(
        select(ChannelStory).where(ChannelStory.channel_id == channel_id, ChannelStory.story_id == story_id)
    )


async def open_channel_story(
    session: AsyncSession,
    *,
    channel_id: int,
    guild_id: int,
    story_id: str,
    root_message_id: int,
    root_delivery_id: int,
    outlet: str,
    user_ids: Sequence[int],
    now: datetime,
) -> ChannelStory:
    existing = await channel_story(session, channel_id, story_id)
    if existing is not None:  # an old, expired story with the same id: start it afresh
        await session.delete(existing)
        await session.flush()
    story = ChannelStory(
        channel_id=channel_id,
        guild_id=guild_id,
        story_id=story_id,
        root_message_id=root_message_id,
        root_delivery_id=root_delivery_id,
        thread_id=None,
        outlets=outlet,
        article_count=1,
        pinged_user_ids=" ".join(str(u) for u in sorted(set(user_ids))),
        opened_at=now,
        last_article_at=now,
    )
    session.add(story)
    await session.flush()
    return story


async def stale_footers(session: AsyncSession, *, limit: int) -> list[ChannelStory]:
    """Stories whose first alert's footer is behind their thread, longest waiting first."""
    return list(
        await session.scalars(
            select(ChannelStory)
            .where(ChannelStory.footer_count < ChannelStory.article_count)
            .order_by(ChannelStory.last_article_at)
            .limit(limit)
        )
    )


async def claim_footer(session: AsyncSession, story: ChannelStory) -> bool:
    """Take the footer update of ``story`` as read: False when another worker took it first
    (several processes may find the same stale footer; one edits it)."""
    result = await session.execute(
        update(CHANNEL_STORIES)
        .where(CHANNEL_STORIES.c.id == story.id, CHANNEL_STORIES.c.footer_count == story.footer_count)
        .values(footer_count=story.article_count)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _first_alerted_in(channel_id: int, root_message_id: int) -> ColumnElement[bool]:
    """The channel stories whose first alert is this message (several when it was a bundle)."""
    return and_(CHANNEL_STORIES.c.channel_id == channel_id, CHANNEL_STORIES.c.root_message_id == root_message_id)


async def stories_of_root(session: AsyncSession, channel_id: int, root_message_id: int) -> list[ChannelStory]:
    """The stories whose first alert is in this message (several when it was a bundle)."""
    return list(await session.scalars(select(ChannelStory).where(_first_alerted_in(channel_id, root_message_id))))


async def set_root_thread(session: AsyncSession, channel_id: int, root_message_id: int, thread_id: int) -> None:
    """A message has one thread: every story first alerted in it gathers coverage there."""
    await session.execute(
        update(CHANNEL_STORIES).where(_first_alerted_in(channel_id, root_message_id)).values(thread_id=thread_id)
    )


async def root_headlines(session: AsyncSession, channel_id: int, root_message_id: int) -> dict[str, str]:
    """story id -> the headline of its first alert, for the stories first alerted in this
    message (several when it was a bundle), in the order they were opened; "" where that
    article is no longer stored."""
    rows = await session.execute(
        select(ChannelStory.story_id, Item.title)
        .outerjoin(Delivery, Delivery.id == ChannelStory.root_delivery_id)
        .outerjoin(Item, Item.id == Delivery.item_id)
        .where(_first_alerted_in(channel_id, root_message_id))
        .order_by(ChannelStory.id)
    )
    return {story_id: title or "" for story_id, title in rows}
