"""Items and their dedup keys: record what a poll found, search what was seen."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.query.model import Query
from bot.records import ItemRow
from db.dialect import insert_ignore, is_postgres
from db.fulltext import fts5_expression, tsquery_expression
from db.models import Feed, Item, SeenKey

# Built once, on the table rather than the mapped class: every poll of a changed feed runs
# it, and building it per call (each key coerced into a bound parameter of its own) with
# the ORM's result handling cost a fifth to a quarter more CPU a read (bench.poll_reads).
_SEEN_KEYS = SeenKey.__table__.c
_SEEN_KEYS_OF_FEED = select(_SEEN_KEYS.dedup_key).where(
    _SEEN_KEYS.feed_id == bindparam("feed_id"), _SEEN_KEYS.dedup_key.in_(bindparam("keys", expanding=True))
)


async def unseen(session: AsyncSession, feed_id: int, rows: Sequence[ItemRow]) -> list[ItemRow]:
    """The rows none of whose keys this feed has seen (one query, not one per row)."""
    if not rows:
        return []
    all_keys = {key for row in rows for key in row.keys}
    seen: set[str] = set()
    key_list = list(all_keys)
    for start in range(0, len(key_list), 500):  # stay under SQLite's parameter limit
        chunk = key_list[start : start + 500]
        result = await session.execute(_SEEN_KEYS_OF_FEED, {"feed_id": feed_id, "keys": chunk})
        seen.update(result.scalars())
    return rows_not_seen(rows, seen)


def rows_not_seen(rows: Sequence[ItemRow], seen: set[str]) -> list[ItemRow]:
    """The rows none of whose keys is in ``seen``, each item once: within one document
    too, the second copy of an item is a duplicate."""
    fresh: list[ItemRow] = []
    claimed: set[str] = set()
    for row in rows:
        if any(key in seen or key in claimed for key in row.keys):
            continue
        claimed.update(row.keys)
        fresh.append(row)
    return fresh


async def record_items(
    session: AsyncSession, feed_id: int, rows: Sequence[ItemRow], *, now: datetime
) -> list[tuple[int, ItemRow]]:
    """Store rows and their keys; return (item id, row) for the rows actually inserted."""
    return (await record_items_of_feeds(session, [(feed_id, rows, now)]))[0]


async def record_items_of_feeds(
    session: AsyncSession, batches: Sequence[tuple[int, Sequence[ItemRow], datetime]]
) -> list[list[tuple[int, ItemRow]]]:
    """Store the rows of several feeds, (feed id, rows, when seen) each, in two statements;
    return, per feed, (item id, row) for the rows actually inserted.

    Rows come from ``unseen``; the unique constraints make a race with another worker
    that stored the same item meanwhile harmless (its copy wins, ours is skipped).
    Statements are executed "many" with one parameter set per row, so they compile once
    and stay cached, whatever the batch size.
    """
    key_values = [
        {"feed_id": feed_id, "dedup_key": key, "seen_at": now}
        for feed_id, rows, now in batches
        for row in rows
        for key in row.keys
    ]
    if not key_values:
        return [[] for _batch in batches]
    await session.execute(insert_ignore(session, SeenKey), key_values)
    values = [
        {
            "feed_id": feed_id,
            "dedup_key": row.keys[0],
            "article_key": row.article_key,
            "title": row.title,
            "link": row.link,
            "summary": row.summary,
            "author": row.author,
            "categories": "\n".join(row.categories),
            "image": row.image,
            "source_name": row.source_name,
            "published_at": row.published_at,
            "first_seen_at": now,
            "sort_at": row.published_at or now,
            "search_text": row.search_text,
            "story_id": row.story_id,
        }
        for feed_id, rows, now in batches
        for row in rows
    ]
    by_key = {(feed_id, row.keys[0]): row for feed_id, rows, _now in batches for row in rows}
    position = {feed_id: index for index, (feed_id, _rows, _now) in enumerate(batches)}
    table = Item.__table__
    result = await session.execute(
        insert_ignore(session, Item).returning(table.c.id, table.c.feed_id, table.c.dedup_key), values
    )
    stored: list[list[tuple[int, ItemRow]]] = [[] for _batch in batches]
    for item_id, feed_id, key in result:
        stored[position[feed_id]].append((item_id, by_key[(feed_id, key)]))
    return stored


async def move_to_stories(session: AsyncSession, stories: Mapping[int, str]) -> None:
    """Set the story of these items (item id -> story id): items whose story was folded
    into another (``bot.story_book.StoryBook.fold_new``)."""
    by_story: dict[str, list[int]] = {}
    for item_id, story_id in stories.items():
        by_story.setdefault(story_id, []).append(item_id)
    for story_id, item_ids in sorted(by_story.items()):
        stmt = update(Item).where(Item.id.in_(item_ids)).values(story_id=story_id)
        await session.execute(stmt.execution_options(synchronize_session=False))


async def recent_items(session: AsyncSession, feed_ids: Sequence[int], *, limit: int, offset: int = 0) -> list[Item]:
    stmt = (
        select(Item)
        .where(Item.feed_id.in_(list(feed_ids)))
        .order_by(Item.sort_at.desc(), Item.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(stmt))


async def prune_items(session: AsyncSession, *, items_before: datetime, keys_before: datetime) -> tuple[int, int]:
    """Forget items past retention; dedup keys live longer so a re-sent item stays seen."""
    items = await session.execute(delete(Item).where(Item.first_seen_at < items_before))
    keys = await session.execute(delete(SeenKey).where(SeenKey.seen_at < keys_before))
    return int(items.rowcount), int(keys.rowcount)  # type: ignore[attr-defined]


async def items_with_feed_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[Item, str]]:
    """Items by id, each with the name of the feed that carried it."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Item, Feed.name).join(Feed, Feed.id == Item.feed_id).where(Item.id.in_(list(ids)))
    )
    return {item.id: (item, name) for item, name in rows}


async def story_sizes(session: AsyncSession, feed_ids: Sequence[int], story_ids: Sequence[str]) -> dict[str, int]:
    """How many stored articles of ``feed_ids`` each story holds (one query)."""
    if not feed_ids or not story_ids:
        return {}
    rows = await session.execute(
        select(Item.story_id, func.count())
        .where(Item.story_id.in_(list(story_ids)), Item.feed_id.in_(list(feed_ids)))
        .group_by(Item.story_id)
    )
    return {story_id: int(count) for story_id, count in rows if story_id is not None}


async def recent_story_ids(session: AsyncSession, feed_ids: Sequence[int], *, since: datetime) -> list[str]:
    """The stories of the articles ``feed_ids`` carried since ``since``."""
    if not feed_ids:
        return []
    rows = await session.scalars(
        select(Item.story_id)
        .where(Item.feed_id.in_(list(feed_ids)), Item.sort_at >= since, Item.story_id.is_not(None))
        .distinct()
    )
    return [story_id for story_id in rows if story_id is not None]


async def search_items(
    session: AsyncSession,
    feed_ids: Sequence[int],
    queries: Sequence[Query],
    *,
    accept: Callable[[Item], bool],
    limit: int,
    offset: int = 0,
    scan_limit: int = 20_000,
) -> list[Item]:
    """Newest items of ``feed_ids`` matching any of ``queries``, skipping ``offset``.

    The backend's full-text index finds candidates (a superset); ``accept`` (the exact
    matcher) decides. Candidates are read newest-first in pages, so it stops as soon
    as enough are found instead of loading every article.
    """
    if not feed_ids:
        return []
    stmt = select(Item).where(Item.feed_id.in_(list(feed_ids)))
    if is_postgres(session):
        expression = tsquery_expression(queries)
        if expression:
            stmt = stmt.where(text("items.search_vector @@ to_tsquery('simple', :fts)").bindparams(fts=expression))
    else:
        expression = fts5_expression(queries)
        if expression:
            matching = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :fts").bindparams(fts=expression)
            stmt = stmt.where(Item.id.in_(matching))
    stmt = stmt.order_by(Item.sort_at.desc(), Item.id.desc())
    wanted = offset + limit
    kept: list[Item] = []
    scanned, page = 0, 200
    while scanned < scan_limit and len(kept) < wanted:
        batch = list(await session.scalars(stmt.limit(page).offset(scanned)))
        kept.extend(item for item in batch if accept(item))
        scanned += len(batch)
        if len(batch) < page:
            break
    return kept[offset:wanted]
