"""The outbox: deliveries written with their item, claimed and sent by the sender job."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import String, Table, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import locks
from db.dialect import insert_ignore, is_postgres
from db.models import ChannelState, Delivery, UTCDateTime

DELIVERIES = cast(Table, Delivery.__table__)  # Core table: updates without ORM bookkeeping

ENQUEUE_CHUNK = 5_000  # rows per INSERT execution


@dataclass(frozen=True, slots=True)
class NewDelivery:
    item_id: int
    guild_id: int
    channel_id: int
    article_identity: str
    user_ids: tuple[int, ...]
    queries: tuple[str, ...]
    kind: str = "channel"  # dm: channel_id is the member's user id


async def enqueue(session: AsyncSession, deliveries: Sequence[NewDelivery], *, now: datetime) -> int:
    """Queue deliveries; an article already queued for a channel (another feed) is skipped.
    Returns how many were queued."""
    return (await enqueue_groups(session, [deliveries], now=now))[0]


async def enqueue_groups(session: AsyncSession, groups: Sequence[Sequence[NewDelivery]], *, now: datetime) -> list[int]:
    """Queue several groups of deliveries (one per changed feed: no item in two groups)
    in the caller's transaction; returns how many of each group were queued. Where groups
    carry the same article for the same channel, the earlier group queues it."""
    if is_postgres(session):
        return await _enqueue_postgres(session, groups, now)
    return await _enqueue_sqlite(session, groups, now)


def _columns(d: NewDelivery) -> tuple[int, int, int, str, str, str, str]:
    return (
        d.item_id,
        d.guild_id,
        d.channel_id,
        d.article_identity,
        " ".join(str(u) for u in sorted(set(d.user_ids))),
        "\n".join(sorted(set(d.queries))),
        d.kind,
    )


# One statement and one JSON parameter per chunk of rows, counted afterwards per item.
# The executemany with RETURNING it replaces stepped SQLite once per row in the driver's
# thread, which took the GIL back for each (the poll loop waited on every row), and
# bound parameters row by row in SQLAlchemy: a third of a busy cycle's write lock.
# SQLite has one writer, so no lock order to keep. ("WHERE true" lets SQLite's parser
# tell the upsert clause from a join's ON.)
_SQLITE_ENQUEUE = text(
    "INSERT INTO deliveries (item_id, guild_id, channel_id, article_identity, user_ids, "
    "queries, kind, status, attempts, next_attempt_at, created_at) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
    "json_extract(value, '$[6]'), 'pending', 0, :now, :now FROM json_each(:rows) WHERE true ORDER BY key "
    "ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime), bindparam("rows", type_=String))


async def _enqueue_sqlite(session: AsyncSession, groups: Sequence[Sequence[NewDelivery]], now: datetime) -> list[int]:
    owner: dict[int, int] = {}  # item id -> its group
    for index, group in enumerate(groups):
        for d in group:
            owner.setdefault(d.item_id, index)
    counts = [0] * len(groups)
    ordered = [d for group in groups for d in group]
    if not ordered:
        return counts
    # New rows get ids above the largest (SQLite's rowid rule); rows of other items that
    # another process might add meanwhile are not counted.
    before = await session.scalar(select(func.max(Delivery.id))) or 0
    for start in range(0, len(ordered), ENQUEUE_CHUNK):
        rows = [_columns(d) for d in ordered[start : start + ENQUEUE_CHUNK]]
        await session.execute(_SQLITE_ENQUEUE, {"now": now, "rows": json.dumps(rows, separators=(",", ":"))})
    queued = await session.execute(
        select(Delivery.item_id, func.count()).where(Delivery.id > before).group_by(Delivery.item_id)
    )
    for item_id, count in queued:
        if item_id in owner:
            counts[owner[item_id]] += count
    return counts


async def _enqueue_postgres(session: AsyncSession, groups: Sequence[Sequence[NewDelivery]], now: datetime) -> list[int]:
    # One order over every group: two workers queueing the same articles never deadlock.
    first: dict[tuple[int, str], int] = {}
    for index, group in enumerate(groups):
        for d in group:
            first.setdefault((d.channel_id, d.article_identity), index)
    ordered = sorted((d for group in groups for d in group), key=lambda d: (d.channel_id, d.article_identity))
    stmt = insert_ignore(session, Delivery).returning(DELIVERIES.c.channel_id, DELIVERIES.c.article_identity)
    counts = [0] * len(groups)
    # In chunks: a batch of popular items can queue hundreds of thousands of rows, and one
    # parameter dict per row, all at once, was the poll worker's peak memory.
    for start in range(0, len(ordered), ENQUEUE_CHUNK):
        values = [
            dict(zip(_COLUMN_NAMES, _columns(d), strict=True))
            | {"status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for d in ordered[start : start + ENQUEUE_CHUNK]
        ]
        for channel_id, identity in await session.execute(stmt, values):
            counts[first[(channel_id, identity)]] += 1
    return counts


_COLUMN_NAMES = ("item_id", "guild_id", "channel_id", "article_identity", "user_ids", "queries", "kind")


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int,
    per_channel: int = 5,
    busy_channels: Collection[int] = (),
) -> list[Delivery]:
    """Claim pending deliveries whose time has come, skipping paused channels,
    ``busy_channels`` (the caller is still sending to them, in order) and channels with
    rows under another claim's lease: one worker at a time sends to a channel, so its
    alerts keep their order and a story's later coverage finds the thread its first alert
    opened instead of pinging again from another worker.

    At most ``per_channel`` rows per channel (Discord lets a channel take about five
    messages per five seconds), so a backlog in one channel never starves the others.
    Channels come in the order of their oldest due row, each with all of its rows, so
    alerts due in one channel at once are claimed together (they may share a message).
    """
    # Claims one at a time across workers: two claims running at once could each take
    # some rows of one channel (each skipping the rows the other had locked).
    await locks.hold(session, locks.DELIVERY_CLAIM)
    paused = select(ChannelState.channel_id).where(ChannelState.paused.is_(True))
    held = select(Delivery.channel_id).where(Delivery.status == "pending", Delivery.lease_until >= now)
    skipped = [Delivery.channel_id.not_in(list(busy_channels))] if busy_channels else []
    claimable = (
        Delivery.status == "pending",
        Delivery.next_attempt_at <= now,
        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
    )
    due = (
        select(
            Delivery.id,
            func.row_number().over(partition_by=Delivery.channel_id, order_by=Delivery.id).label("rank"),
            func.min(Delivery.id).over(partition_by=Delivery.channel_id).label("first"),
        )
        .where(*claimable, Delivery.channel_id.not_in(paused), Delivery.channel_id.not_in(held), *skipped)
        .subquery()
    )
    stmt = (
        select(Delivery)
        .join(due, due.c.id == Delivery.id)
        # Again on the locked rows themselves: a row another worker claimed and committed
        # after this statement's snapshot is re-read when it is locked (PostgreSQL re-checks
        # these conditions then, not the subquery's), so it is not claimed twice.
        .where(due.c.rank <= per_channel, *claimable)
        .order_by(due.c.first, Delivery.id)
        .limit(limit + 1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    rows = list(await session.scalars(stmt))
    if len(rows) > limit:  # one row more than asked, to see whether the limit cut a channel
        beyond = rows.pop()
        if rows[-1].channel_id == beyond.channel_id != rows[0].channel_id:
            rows = [row for row in rows if row.channel_id != beyond.channel_id]  # whole, next time
    for row in rows:
        row.claimed_by, row.lease_until = worker, now + lease
        row.attempts += 1
    await session.flush()
    return rows


async def mark_sent(session: AsyncSession, delivery_id: int, *, message_id: int, now: datetime, sent_as: str) -> None:
    """Sent: how (alert, thread, dm), with the message that carried it. On the Core table:
    once per alert, and the ORM's bulk-update path cost more than the statement itself."""
    await session.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.id == delivery_id)
        .values(
            status="sent",
            sent_as=sent_as,
            message_id=message_id,
            sent_at=now,
            claimed_by=None,
            lease_until=None,
            last_error=None,
        )
    )


async def mark_retry(session: AsyncSession, delivery_id: int, *, at: datetime, error: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(next_attempt_at=at, last_error=error[:500], claimed_by=None, lease_until=None)
    )


async def mark_failed(session: AsyncSession, delivery_id: int, *, error: str, status: str = "failed") -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=status, last_error=error[:500], claimed_by=None, lease_until=None)
    )


async def release_claims(session: AsyncSession, worker: str | None) -> int:
    """Hand back what ``worker`` (None: any worker) claimed but did not finish."""
    stmt = update(Delivery).where(Delivery.status == "pending", Delivery.claimed_by.is_not(None))
    if worker is not None:
        stmt = stmt.where(Delivery.claimed_by == worker)
    result = await session.execute(stmt.values(claimed_by=None, lease_until=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_channel(session: AsyncSession, channel_id: int, *, reason: str) -> int:
    result = await session.execute(
        update(Delivery)
        .where(Delivery.channel_id == channel_id, Delivery.status == "pending")
        .values(status="failed", last_error=reason[:500], claimed_by=None, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def pending_count(session: AsyncSession, guild_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
    if guild_id is not None:
        stmt = stmt.where(Delivery.guild_id == guild_id)
    return int(await session.scalar(stmt) or 0)


async def alerted_items(session: AsyncSession, channel_id: int, item_ids: Sequence[int]) -> set[int]:
    """Which of these items were already alerted in this channel (for /latest marks)."""
    if not item_ids:
        return set()
    rows = await session.scalars(
        select(Delivery.item_id).where(
            Delivery.channel_id == channel_id,
            Delivery.status == "sent",
            Delivery.item_id.in_(list(item_ids)),
        )
    )
    return set(rows)


async def pause_channel(session: AsyncSession, *, channel_id: int, guild_id: int, reason: str, now: datetime) -> bool:
    """Pause a channel; True when this starts a new pause (so followers are told once).

    A probe lifts ``paused`` but keeps ``paused_at``: failing again is the same pause.
    """
    state = await session.get(ChannelState, channel_id)
    if state is None:
        session.add(
            ChannelState(
                channel_id=channel_id,
                guild_id=guild_id,
                paused=True,
                paused_reason=reason,
                paused_at=now,
            )
        )
        await session.flush()
        return True
    new_pause = state.paused_at is None
    state.paused, state.paused_reason = True, reason
    if new_pause:
        state.paused_at = now
    return new_pause


async def resume_channel(session: AsyncSession, channel_id: int) -> bool:
    state = await session.get(ChannelState, channel_id)
    if state is None or (not state.paused and state.paused_at is None):
        return False
    state.paused, state.paused_reason, state.paused_at = False, None, None
    return True


async def probe_guild_channels(session: AsyncSession, guild_id: int) -> int:
    """Lift the pause (not the pause record) of a server's channels so they try again."""
    result = await session.execute(
        update(ChannelState)
        .where(ChannelState.guild_id == guild_id, ChannelState.paused.is_(True))
        .values(paused=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def expire_paused(session: AsyncSession, *, before: datetime) -> int:
    """Alerts that waited in a paused channel past the story window count as missed."""
    paused = select(ChannelState.channel_id).where(ChannelState.paused_at.is_not(None))
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == "pending",
            Delivery.created_at < before,
            Delivery.channel_id.in_(paused),
        )
        .values(status="missed", claimed_by=None, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def missed_count(session: AsyncSession, guild_id: int) -> int:
    stmt = select(func.count()).select_from(Delivery).where(Delivery.status == "missed", Delivery.guild_id == guild_id)
    return int(await session.scalar(stmt) or 0)


async def paused_channels(session: AsyncSession, guild_id: int | None = None) -> list[ChannelState]:
    stmt = select(ChannelState).where(ChannelState.paused.is_(True))
    if guild_id is not None:
        stmt = stmt.where(ChannelState.guild_id == guild_id)
    return list(await session.scalars(stmt))


async def note_alert(session: AsyncSession, *, channel_id: int, guild_id: int, now: datetime) -> None:
    state = await session.get(ChannelState, channel_id)
    if state is None:
        session.add(ChannelState(channel_id=channel_id, guild_id=guild_id, paused=False, last_alert_at=now))
    else:
        state.last_alert_at = now


async def mark_held(session: AsyncSession, delivery_id: int, *, until: datetime) -> None:
    """Over the channel's cap: wait for the window's summary instead of pinging."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status="held", next_attempt_at=until, claimed_by=None, lease_until=None)
    )


async def due_summaries(session: AsyncSession, *, now: datetime, limit: int = 500) -> dict[int, list[Delivery]]:
    """Held deliveries whose window has closed, by channel (paused channels wait)."""
    paused = select(ChannelState.channel_id).where(ChannelState.paused.is_(True))
    rows = await session.scalars(
        select(Delivery)
        .where(
            Delivery.status == "held",
            Delivery.next_attempt_at <= now,
            Delivery.channel_id.not_in(paused),
        )
        .order_by(Delivery.channel_id, Delivery.id)
        .limit(limit)
    )
    grouped: dict[int, list[Delivery]] = {}
    for row in rows:
        grouped.setdefault(row.channel_id, []).append(row)
    return grouped


async def mark_summarized(session: AsyncSession, ids: Sequence[int], *, message_id: int, now: datetime) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)))
        .values(status="sent", sent_as="summary", message_id=message_id, sent_at=now)
    )


async def get_delivery(session: AsyncSession, delivery_id: int) -> Delivery | None:
    return await session.get(Delivery, delivery_id)


async def flood_window(session: AsyncSession, channel_id: int) -> tuple[datetime | None, int]:
    state = await session.get(ChannelState, channel_id)
    return (None, 0) if state is None else (state.window_start, state.window_count)


async def set_flood_window(
    session: AsyncSession, *, channel_id: int, guild_id: int, start: datetime | None, count: int
) -> None:
    state = await session.get(ChannelState, channel_id)
    if state is None:
        session.add(
            ChannelState(
                channel_id=channel_id,
                guild_id=guild_id,
                paused=False,
                window_start=start,
                window_count=count,
            )
        )
    else:
        state.window_start, state.window_count = start, count


async def held_count(session: AsyncSession, guild_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Delivery).where(Delivery.status == "held")
    if guild_id is not None:
        stmt = stmt.where(Delivery.guild_id == guild_id)
    return int(await session.scalar(stmt) or 0)


async def last_alert_at(session: AsyncSession, guild_id: int) -> datetime | None:
    stmt = select(func.max(ChannelState.last_alert_at)).where(ChannelState.guild_id == guild_id)
    return await session.scalar(stmt)


async def alerts_in_message(session: AsyncSession, channel_id: int, message_id: int) -> list[Delivery]:
    """The alerts one message carries, in the order of its embeds."""
    return list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.message_id == message_id, Delivery.channel_id == channel_id, Delivery.sent_as == "alert")
            .order_by(Delivery.id)
        )
    )
