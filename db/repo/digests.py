"""Digest entries (hourly/daily follows) and pings held back by quiet hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import insert_ignore
from db.models import DigestEntry, QuietPing


@dataclass(frozen=True, slots=True)
class NewDigestEntry:
    guild_id: int
    channel_id: int
    user_id: int
    item_id: int
    query: str
    period: str
    dm: bool
    due_at: datetime


async def add_entries(session: AsyncSession, entries: Sequence[NewDigestEntry], *, now: datetime) -> int:
    if not entries:
        return 0
    values = [
        {
            "guild_id": e.guild_id,
            "channel_id": e.channel_id,
            "user_id": e.user_id,
            "item_id": e.item_id,
            "query": e.query,
            "period": e.period,
            "dm": e.dm,
            "due_at": e.due_at,
            "created_at": now,
        }
        for e in entries
    ]
    added = 0
    for start in range(0, len(values), 200):
        stmt = (
            insert_ignore(session, DigestEntry)
            .values(values[start : start + 200])
            .returning(DigestEntry.__table__.c.id)
        )
        added += len((await session.execute(stmt)).all())
    return added


async def due_digests(
    session: AsyncSession, *, now: datetime, limit: int = 2000
) -> dict[tuple[int, int, int, bool, str], list[DigestEntry]]:
    """Due entries grouped by (guild, channel, member, dm, period): one digest each."""
    rows = await session.scalars(
        select(DigestEntry)
        .where(DigestEntry.sent_at.is_(None), DigestEntry.due_at <= now)
        .order_by(DigestEntry.id)
        .limit(limit)
    )
    grouped: dict[tuple[int, int, int, bool, str], list[DigestEntry]] = {}
    for row in rows:
        grouped.setdefault((row.guild_id, row.channel_id, row.user_id, row.dm, row.period), []).append(row)
    return grouped


async def mark_digest_sent(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> None:
    await session.execute(update(DigestEntry).where(DigestEntry.id.in_(list(ids))).values(sent_at=now))


async def hold_pings(
    session: AsyncSession,
    *,
    guild_id: int,
    channel_id: int,
    user_ids: Sequence[int],
    delivery_id: int,
    now: datetime,
) -> None:
    if not user_ids:
        return
    values = [
        {
            "guild_id": guild_id,
            "channel_id": channel_id,
            "user_id": u,
            "delivery_id": delivery_id,
            "created_at": now,
        }
        for u in user_ids
    ]
    await session.execute(insert_ignore(session, QuietPing).values(values))


async def held_pings(session: AsyncSession, *, limit: int | None = None) -> dict[int, list[QuietPing]]:
    """Open held pings by guild (the first ``limit`` of them: whether any are held)."""
    stmt = select(QuietPing).where(QuietPing.sent_at.is_(None)).order_by(QuietPing.id)
    rows = await session.scalars(stmt if limit is None else stmt.limit(limit))
    grouped: dict[int, list[QuietPing]] = {}
    for row in rows:
        grouped.setdefault(row.guild_id, []).append(row)
    return grouped


async def mark_pings_sent(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> None:
    await session.execute(update(QuietPing).where(QuietPing.id.in_(list(ids))).values(sent_at=now))
