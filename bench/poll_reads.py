"""The reads a poll makes per feed, against the same reads built per call (the baseline).

A changed feed's poll reads the database twice before it writes: which of its items'
dedup keys the feed has seen (``items.unseen``) and, when an item matched a follow, the
follows version (``follows.follows_version``, which keeps the audience cache honest).
Both are statements built once, on the tables. The baseline runs the same SQL built per
call on the mapped classes, as the bot did before, in the same run, rounds alternating.

The database is SQLite in a temporary directory: N feeds, each with 50 stored items
(two dedup keys each); every poll asks about 50 rows, 49 of them stored (what a live
feed's poll asks). Each read runs in its own session, as the poll's do. CPU is this
process's (the event loop and aiosqlite's thread).

    python -m bench.poll_reads [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import markdown_table
from bot.records import ItemRow
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Feed, Meta, SeenKey
from db.repo import follows as follow_repo
from db.repo import items as item_repo

ITEMS = 50
QUICK_FEEDS = 200
FULL_FEEDS = 1_000
ROUNDS = 5


def item_row(feed: int, item: int) -> ItemRow:
    return ItemRow(
        keys=(f"g:{feed}-{item}", f"l:https://f{feed}.bench.test/{item}"),
        article_key=f"https://f{feed}.bench.test/{item}",
        title=f"headline {item}",
        link=f"https://f{feed}.bench.test/{item}",
        summary="",
        author=None,
        categories=(),
        image=None,
        source_name=None,
        published_at=None,
    )


async def unseen_built_per_call(session: AsyncSession, feed_id: int, rows: Sequence[ItemRow]) -> list[ItemRow]:
    """The baseline: ``items.unseen`` as it was, its statement built on the mapped class
    each call (the keys stay under 500, so one statement)."""
    keys = list({key for row in rows for key in row.keys})
    seen = set(
        await session.scalars(select(SeenKey.dedup_key).where(SeenKey.feed_id == feed_id, SeenKey.dedup_key.in_(keys)))
    )
    return item_repo.rows_not_seen(rows, seen)


async def version_built_per_call(session: AsyncSession) -> int:
    """The baseline: ``follows.follows_version`` as it was."""
    return int(await session.scalar(select(Meta.value).where(Meta.key == follow_repo.FOLLOWS_VERSION)) or 0)


async def seed(sessions: SessionFactory, feeds: int) -> list[list[ItemRow]]:
    """Store 50 items per feed; return each feed's next poll: items 1-50 (1-49 stored)."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await session.execute(
            insert(Feed),
            [
                {
                    "url": f"https://f{f}.bench.test/",
                    "name": f"feed {f}",
                    "interval_seconds": 60,
                    "next_poll_at": now,
                    "created_at": now,
                }
                for f in range(1, feeds + 1)
            ],
        )
        batches = [(f, [item_row(f, i) for i in range(ITEMS)], now) for f in range(1, feeds + 1)]
        await item_repo.record_items_of_feeds(session, batches)
        await follow_repo.bump_follows_version(session)
    return [[item_row(f, i) for i in range(1, ITEMS + 1)] for f in range(1, feeds + 1)]


async def timed(polls: int, read: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """(wall µs, CPU µs) per read over ``polls`` reads."""
    started, cpu = time.perf_counter(), time.process_time()
    for index in range(polls):
        await read(index)
    return (time.perf_counter() - started) / polls * 1e6, (time.process_time() - cpu) / polls * 1e6


async def run_async(feeds: int, workdir: Path, rounds: int = ROUNDS) -> dict[str, Any]:
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'reads.db'}")
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        polls = await seed(sessions, feeds)

        async def unseen_read(index: int, read: Callable[..., Awaitable[list[ItemRow]]]) -> None:
            async with sessions() as session:
                fresh = await read(session, index + 1, polls[index])
            if [row.keys[0] for row in fresh] != [f"g:{index + 1}-{ITEMS}"]:
                raise AssertionError(f"feed {index + 1}: expected only item {ITEMS} as new, got {len(fresh)} rows")

        async def version_read(_index: int, read: Callable[[AsyncSession], Awaitable[int]]) -> None:
            async with sessions() as session:
                if await read(session) != 1:
                    raise AssertionError("the follows version was bumped once")

        reads: dict[str, Callable[[int], Awaitable[None]]] = {
            "unseen (items.unseen)": lambda i: unseen_read(i, item_repo.unseen),
            "unseen, built per call (baseline)": lambda i: unseen_read(i, unseen_built_per_call),
            "follows version (follows.follows_version)": lambda i: version_read(i, follow_repo.follows_version),
            "follows version, built per call (baseline)": lambda i: version_read(i, version_built_per_call),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in reads}
        for _ in range(rounds):
            for name, read in reads.items():
                samples[name].append(await timed(feeds, read))
    finally:
        await engine.dispose()
    return {
        "feeds": feeds,
        "items_per_feed": ITEMS,
        "rounds": rounds,
        "reads": [
            {
                "name": name,
                "wall_us": round(statistics.median(wall for wall, _cpu in values), 1),
                "cpu_us": round(statistics.median(cpu for _wall, cpu in values), 1),
                "cpu_us_range": [round(min(c for _w, c in values), 1), round(max(c for _w, c in values), 1)],
            }
            for name, values in samples.items()
        ],
    }


def run(quick: bool = False, *, feeds: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-reads-") as tmp:
        return asyncio.run(run_async(feeds or (QUICK_FEEDS if quick else FULL_FEEDS), Path(tmp)))


def markdown(result: dict[str, Any]) -> str:
    rows = [
        [
            read["name"],
            f"{read['wall_us']:,.0f}",
            f"{read['cpu_us']:,.0f} ({read['cpu_us_range'][0]:,.0f}-{read['cpu_us_range'][1]:,.0f})",
        ]
        for read in result["reads"]
    ]
    head = (
        f"{result['feeds']:,} feeds x {result['items_per_feed']} stored items, SQLite; each read in its own "
        f"session; median of {result['rounds']} alternating rounds (CPU: this process, range over rounds)."
    )
    return head + "\n\n" + markdown_table(["read", "wall µs/read", "CPU µs/read (range)"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FEEDS} feeds instead of {FULL_FEEDS}")
    args = parser.parse_args()
    print(markdown(run(args.quick)))


if __name__ == "__main__":
    main()
