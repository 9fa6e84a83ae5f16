"""Feeds: registration, due-feed claims with leases, and poll outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import insert_ignore, is_postgres
from db.models import Feed, Follow, GuildFeed

FEEDS = cast(Table, Feed.__table__)  # Core table: bulk updates without ORM bookkeeping


async def upsert_config_feeds(
    session: AsyncSession, entries: Sequence[tuple[str, str]], *, interval: float, now: datetime
) -> int:
    """Make the config feeds exist and due now, trusted; feeds no longer listed are disabled.

    Set-based, and safe when several workers start at once (inserts skip existing rows).
    Returns how many feeds were new.
    """
    urls = [url for _, url in entries]
    new = 0
    for start in range(0, len(entries), 500):
        chunk = entries[start : start + 500]
        values = [
            {
                "url": url,
                "name": name,
                "kind": "config",
                "trusted": True,
                "enabled": True,
                "interval_seconds": interval,
                "next_poll_at": now,
                "created_at": now,
                "consecutive_failures": 0,
                "baseline_done": False,
                "guid_stable": True,
            }
            for name, url in chunk
        ]
        stmt = insert_ignore(session, Feed).values(values).returning(FEEDS.c.id)
        new += len((await session.execute(stmt)).all())
        chunk_urls = [url for _, url in chunk]
        await session.execute(
            update(Feed).where(Feed.url.in_(chunk_urls)).values(kind="config", trusted=True, search_query=None)
        )
        await session.execute(
            update(Feed)
            .where(Feed.url.in_(chunk_urls), Feed.disabled_reason == "removed from config.toml")
            .values(enabled=True, disabled_reason=None)
        )
        # A restart polls config feeds right away: the operator expects it.
        await session.execute(
            update(Feed).where(Feed.url.in_(chunk_urls), Feed.next_poll_at > now).values(next_poll_at=now)
        )
        names = {url: name for name, url in chunk}
        stale = await session.execute(select(Feed.id, Feed.url, Feed.name).where(Feed.url.in_(chunk_urls)))
        for feed_id, url, name in stale:
            if names[url] != name:
                await session.execute(update(Feed).where(Feed.id == feed_id).values(name=names[url]))
    await session.execute(
        update(Feed)
        .where(Feed.kind == "config", Feed.url.not_in(urls), Feed.enabled.is_(True))
        .values(enabled=False, disabled_reason="removed from config.toml")
    )
    return new


async def get_or_create_feed(
    session: AsyncSession,
    *,
    url: str,
    name: str,
    kind: str,
    trusted: bool,
    interval: float,
    now: datetime,
    search_query: str | None = None,
) -> Feed:
    feed = await session.scalar(select(Feed).where(Feed.url == url))
    if feed is None:
        feed = Feed(
            url=url,
            name=name,
            kind=kind,
            trusted=trusted,
            enabled=True,
            search_query=search_query,
            interval_seconds=interval,
            next_poll_at=now,
            created_at=now,
            consecutive_failures=0,
            baseline_done=False,
            guid_stable=True,
        )
        session.add(feed)
        await session.flush()
    elif not feed.enabled and kind == "search":
        feed.enabled, feed.disabled_reason, feed.next_poll_at = True, None, now
    return feed


@dataclass(frozen=True, slots=True)
class ClaimedFeed:
    """What a poll reads of a feed it claimed: a snapshot, never written back (the poll's
    outcome goes through ``release_feeds``). Plain, so a claim of thousands stays cheap."""

    id: int
    url: str
    kind: str
    trusted: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    baseline_done: bool
    interval_seconds: float
    consecutive_failures: int
    title: str | None
    next_poll_at: datetime


_CLAIMED_COLUMNS = [FEEDS.c[f.name] for f in fields(ClaimedFeed)]


async def claim_due_feeds(
    session: AsyncSession, *, now: datetime, worker: str, lease: timedelta, limit: int
) -> list[ClaimedFeed]:
    """Claim up to ``limit`` due feeds for ``worker``; others skip them until the lease ends.

    One UPDATE ... RETURNING over a due-feeds subquery (SKIP LOCKED on PostgreSQL, so
    workers claiming at once take different feeds). Most overdue first.
    """
    free = or_(FEEDS.c.lease_until.is_(None), FEEDS.c.lease_until < now)
    due = (
        select(FEEDS.c.id)
        .where(FEEDS.c.enabled.is_(True), FEEDS.c.next_poll_at <= now, free)
        .order_by(FEEDS.c.next_poll_at)
        .limit(limit)
    )
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    claimed = await session.execute(
        update(FEEDS)
        .where(FEEDS.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, lease_until=now + lease)
        .returning(*_CLAIMED_COLUMNS)
    )
    feeds = [ClaimedFeed(*row) for row in claimed]
    feeds.sort(key=lambda feed: (feed.next_poll_at, feed.id))
    return feeds


async def release_feeds(
    session: AsyncSession, worker: str, outcomes: Sequence[tuple[int, Mapping[str, object]]]
) -> set[int]:
    """Write polls' outcomes (feed id, new column values) and drop their leases, for the
    feeds ``worker`` still holds; returns the ids it no longer held, which are left alone.

    One statement per shape of outcome (success, failure, ...), not a statement per feed:
    a cycle's outcomes are written together.
    """
    if not outcomes:
        return set()
    if is_postgres(session) or any("url" in values for _feed_id, values in outcomes):
        return await _release_checked(session, worker, outcomes)
    return await _release_sqlite(session, worker, outcomes)


async def _release_checked(
    session: AsyncSession, worker: str, outcomes: Sequence[tuple[int, Mapping[str, object]]]
) -> set[int]:
    """Reads which feeds ``worker`` holds, then one executemany per shape. A moved feed's
    new address is checked against the feeds already there (rare: a 301)."""
    ids = [feed_id for feed_id, _values in outcomes]
    held = set(await session.scalars(select(Feed.id).where(Feed.id.in_(ids), Feed.claimed_by == worker)))
    by_shape: dict[tuple[str, ...], list[dict[str, object]]] = {}
    moved_to: set[object] = set()
    for feed_id, values in outcomes:
        if feed_id not in held:
            continue
        if "url" in values:
            if values["url"] in moved_to or await _url_taken(session, str(values["url"]), except_id=feed_id):
                values = {k: v for k, v in values.items() if k != "url"}  # the new address is a feed of its own
            moved_to.add(values.get("url"))
        params: dict[str, object] = {f"new_{key}": value for key, value in values.items()}
        params["feed_id"] = feed_id
        by_shape.setdefault(tuple(sorted(values)), []).append(params)
    for columns, rows in by_shape.items():
        stmt = (
            update(FEEDS)
            .where(FEEDS.c.id == bindparam("feed_id"), FEEDS.c.claimed_by == worker)
            .values(
                {**{column: bindparam(f"new_{column}") for column in columns}, "claimed_by": None, "lease_until": None}
            )
        )
        await session.execute(stmt, rows)
    return set(ids) - held


async def _release_sqlite(
    session: AsyncSession, worker: str, outcomes: Sequence[tuple[int, Mapping[str, object]]]
) -> set[int]:
    """One UPDATE ... FROM json_each(:rows) ... RETURNING per shape: the lease check, the
    write and the lost leases in a single statement and a single bound parameter. Before, a
    SELECT of the held feeds plus an executemany per shape stepped SQLite once per feed in
    the driver's thread and bound every row in SQLAlchemy (37% more CPU for the same
    outcomes, see the README)."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    by_shape: dict[tuple[str, ...], list[tuple[int, Mapping[str, object]]]] = {}
    for feed_id, values in outcomes:
        by_shape.setdefault(tuple(sorted(values)), []).append((feed_id, values))
    held: set[int] = set()
    for columns, group in by_shape.items():
        # Each value as the column's type stores it (SQLite's DateTime text, Boolean 0/1).
        stored = [(column, FEEDS.c[column].type.dialect_impl(dialect).bind_processor(dialect)) for column in columns]
        rows = [_stored_row(feed_id, values, stored) for feed_id, values in group]
        assignments = [f"{quote(column)} = json_extract(r.value, '$[{i}]')" for i, column in enumerate(columns, 1)]
        statement = text(
            f"UPDATE feeds SET {', '.join([*assignments, 'claimed_by = NULL', 'lease_until = NULL'])} "
            "FROM json_each(:rows) AS r WHERE feeds.id = json_extract(r.value, '$[0]') "
            "AND feeds.claimed_by = :worker RETURNING feeds.id"
        )
        result = await session.execute(statement, {"rows": json.dumps(rows, separators=(",", ":")), "worker": worker})
        held.update(result.scalars())
    return {feed_id for feed_id, _values in outcomes} - held


def _stored_row(
    feed_id: int, values: Mapping[str, object], stored: Sequence[tuple[str, Callable[[Any], Any] | None]]
) -> list[object]:
    row: list[object] = [feed_id]
    for column, convert in stored:
        value = values[column]
        row.append(value if convert is None else convert(value))
    return row


async def _url_taken(session: AsyncSession, url: str, *, except_id: int) -> bool:
    found = await session.scalar(select(Feed.id).where(Feed.url == url, Feed.id != except_id))
    return found is not None


async def feeds_for_guild(session: AsyncSession, guild_id: int) -> list[tuple[Feed, str]]:
    """The feeds a server sees: config feeds, its own feeds and its follows' search feeds."""
    own = select(GuildFeed.feed_id).where(GuildFeed.guild_id == guild_id)
    searched = select(Follow.search_feed_id).where(Follow.guild_id == guild_id, Follow.search_feed_id.is_not(None))
    rows = await session.scalars(
        select(Feed)
        .where(
            or_(
                Feed.kind == "config",
                Feed.id.in_(own),
                and_(Feed.kind == "search", Feed.id.in_(searched)),
            )
        )
        .order_by(Feed.kind, Feed.name)
    )
    names = dict(
        (await session.execute(select(GuildFeed.feed_id, GuildFeed.name).where(GuildFeed.guild_id == guild_id))).all()
    )
    return [(feed, names.get(feed.id, feed.name)) for feed in rows]


async def guilds_seeing_feed(session: AsyncSession, feed: Feed | ClaimedFeed) -> set[int] | None:
    """Guild ids that see this feed's items; None means every guild (a config feed)."""
    if feed.kind == "config":
        return None
    if feed.kind == "search":
        rows = await session.scalars(select(Follow.guild_id).where(Follow.search_feed_id == feed.id).distinct())
        return set(rows)
    rows = await session.scalars(select(GuildFeed.guild_id).where(GuildFeed.feed_id == feed.id))
    return set(rows)


async def disable_orphan_search_feeds(session: AsyncSession) -> int:
    """Search feeds nobody follows any more stop being polled."""
    used = select(Follow.search_feed_id).where(Follow.search_feed_id.is_not(None)).distinct()
    result = await session.execute(
        update(Feed)
        .where(Feed.kind == "search", Feed.enabled.is_(True), Feed.id.not_in(used))
        .values(enabled=False, disabled_reason="no follows use this search any more")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def enabled_feed_ids(session: AsyncSession) -> set[int]:
    """The feeds that are polled (enabled)."""
    return set(await session.scalars(select(Feed.id).where(Feed.enabled.is_(True))))


async def make_all_due(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(
        update(Feed).where(Feed.enabled.is_(True)).values(next_poll_at=now, claimed_by=None, lease_until=None)
    )


async def release_claims(session: AsyncSession, worker: str | None) -> int:
    """Feeds ``worker`` (None: any worker) claimed but did not finish become due again."""
    stmt = update(Feed).where(Feed.claimed_by.is_not(None))
    if worker is not None:
        stmt = stmt.where(Feed.claimed_by == worker)
    result = await session.execute(stmt.values(claimed_by=None, lease_until=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def guild_feed_count(session: AsyncSession, guild_id: int) -> int:
    stmt = select(func.count()).select_from(GuildFeed).where(GuildFeed.guild_id == guild_id)
    return int(await session.scalar(stmt) or 0)


async def link_guild_feed(
    session: AsyncSession, *, guild_id: int, feed_id: int, name: str, user_id: int, now: datetime
) -> bool:
    """Give a server a feed; False when it already had it."""
    existing = await session.scalar(
        select(GuildFeed).where(GuildFeed.guild_id == guild_id, GuildFeed.feed_id == feed_id)
    )
    if existing is not None:
        return False
    session.add(GuildFeed(guild_id=guild_id, feed_id=feed_id, name=name, added_by=user_id, created_at=now))
    await session.flush()
    return True


async def unlink_guild_feed(session: AsyncSession, *, guild_id: int, feed_id: int) -> str | None:
    """Remove a server's feed; returns its name, or None if the server did not have it."""
    link = await session.scalar(select(GuildFeed).where(GuildFeed.guild_id == guild_id, GuildFeed.feed_id == feed_id))
    if link is None:
        return None
    name = link.name
    await session.delete(link)
    await session.flush()
    still_used = await session.scalar(select(func.count()).select_from(GuildFeed).where(GuildFeed.feed_id == feed_id))
    feed = await session.get(Feed, feed_id)
    if not still_used and feed is not None and feed.kind == "server":
        await session.delete(feed)
    return name


async def guild_own_feeds(session: AsyncSession, guild_id: int) -> list[tuple[Feed, str]]:
    rows = await session.execute(
        select(Feed, GuildFeed.name)
        .join(GuildFeed, GuildFeed.feed_id == Feed.id)
        .where(GuildFeed.guild_id == guild_id)
        .order_by(GuildFeed.name)
    )
    return [(feed, name) for feed, name in rows]


async def all_feeds(session: AsyncSession) -> list[Feed]:
    return list(await session.scalars(select(Feed).order_by(Feed.kind, Feed.name)))
