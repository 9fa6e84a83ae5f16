"""Section 3: /latest over many stored articles, against loading recent rows and matching.

Articles are real UCI headlines (entertainment plus all categories, repeated with
later dates past ~82k) stored through ``db.repo.items.record_items`` with their
full-text words (``bot.ingest.search_text_of``), over 100 feeds. ~200 queries of 1-3
words are drawn from headline words (fixed seed) and each is timed through
``bot.follow_service.latest`` (what the /latest command runs: full-text prefilter,
exact matcher, newest first, a story once, one page; each article carries its UCI story
cluster as its story). The baseline loads the newest 5,000 rows and matches them in
Python, a story once (slow: timed on the first 10 queries, 50 in the full run).
Both answers are compared where the baseline can see them.

    python -m bench.latest [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import (
    ALL_CATEGORIES_TSV,
    Headline,
    bench_settings_toml,
    load_headlines,
    markdown_table,
    percentile,
)
from bench.pg import admin_url, fresh_database
from bot import follow_service
from bot.errors import QueryError
from bot.ingest import search_text_of
from bot.query.document import MatchDoc
from bot.query.matcher import matches
from bot.query.model import Query
from bot.records import ItemRow
from bot.settings import Settings, parse_settings
from bot.stories.stopwords import STOPWORDS
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Item
from db.repo import feeds as feed_repo
from db.repo import items as item_repo

FEEDS = 100
QUERIES = 200
NAIVE_ROWS = 5_000
BATCH = 500
SEED = 20140520
GUILD_ID, CHANNEL_ID, USER_ID = 7_000, 7_001, 7_002
CATEGORY_NAMES = {"b": "Business", "t": "Science and technology", "e": "Entertainment"}
CATEGORY_NAMES["m"] = "Health"


def article_rows(headlines: Sequence[Headline], count: int, *, stories: bool = False) -> list[ItemRow]:
    """``count`` stored articles from ``headlines``; ``stories``: each in its UCI cluster's
    story (a repeat in another), as /latest groups them."""
    rows = []
    for n in range(count):
        row = headlines[n % len(headlines)]
        follow_on = headlines[(n + 1) % len(headlines)]
        wrap = n // len(headlines)  # repeats are dated later, so every row is distinct
        published = datetime.fromtimestamp(row.timestamp_ms / 1000, UTC) + timedelta(days=60 * wrap)
        summary = f"{row.publisher} reports: {row.title}. Also: {follow_on.title}"
        categories = (CATEGORY_NAMES.get(row.category, "News"),)
        link = f"{row.url}#sw{n}"
        rows.append(
            ItemRow(
                keys=(f"g:bench-{n}", f"l:{link}"),
                article_key=link,
                title=row.title,
                link=link,
                summary=summary,
                author=None,
                categories=categories,
                image=None,
                source_name=row.publisher,
                published_at=published,
                search_text=search_text_of(row.title, summary, categories),
                story_id=f"{row.story}:{wrap}" if stories and row.story else None,
            )
        )
    return rows


def query_texts(headlines: Sequence[Headline], count: int, settings: Settings) -> list[Query]:
    """1-3 content words of random headlines, parsed as /latest would parse them."""
    rng = random.Random(SEED)
    found: list[Query] = []
    while len(found) < count:
        title = rng.choice(headlines).title
        words = [
            w
            for w in "".join(c if c.isalnum() else " " for c in title).lower().split()
            if len(w) >= 3 and w.isalpha() and w not in STOPWORDS
        ]
        if not words:
            continue
        size = min(len(words), rng.choice((1, 1, 2, 2, 3)))
        try:
            found.append(follow_service.parse(settings, " ".join(rng.sample(words, size))))
        except QueryError:
            continue
    return found


async def store_articles(sessions: SessionFactory, rows: Sequence[ItemRow]) -> float:
    """Insert the rows over FEEDS feeds in batches; returns the seconds it took."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        feed_ids = [
            (
                await feed_repo.get_or_create_feed(
                    session,
                    url=f"https://news{i}.example.com/rss",
                    name=f"Outlet {i}",
                    kind="config",
                    trusted=True,
                    interval=300.0,
                    now=now,
                )
            ).id
            for i in range(FEEDS)
        ]
    by_feed: dict[int, list[ItemRow]] = {f: [] for f in feed_ids}
    for n, row in enumerate(rows):
        by_feed[feed_ids[n % FEEDS]].append(row)
    started = time.perf_counter()
    for feed_id, feed_rows in by_feed.items():
        for start in range(0, len(feed_rows), BATCH):
            async with sessions.begin() as session:
                await item_repo.record_items(session, feed_id, feed_rows[start : start + BATCH], now=now)
    return time.perf_counter() - started


async def naive_latest(sessions: SessionFactory, query: Query, limit: int) -> list[int]:
    async with sessions() as session:
        items = list(
            await session.scalars(select(Item).order_by(Item.sort_at.desc(), Item.id.desc()).limit(NAIVE_ROWS))
        )
    found = []
    stories: set[str | None] = set()
    for item in items:
        if item.story_id is not None and item.story_id in stories:
            continue  # /latest shows a story once, as its newest matching article
        doc = MatchDoc.from_article(item.title, item.summary, [c for c in item.categories.split("\n") if c])
        if matches(query, doc):
            stories.add(item.story_id)
            found.append(item.id)
            if len(found) == limit:
                break
    return found


def _latency(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 0.50) * 1000, 2),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
        "mean_ms": round(sum(samples) / len(samples) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


async def bench_backend(database_url: str, articles: int, backend: str, naive_sample: int) -> dict[str, Any]:
    settings = parse_settings(bench_settings_toml(database_url), "bench", {})
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        uci = load_headlines() + load_headlines(ALL_CATEGORIES_TSV)
        insert_seconds = await store_articles(sessions, article_rows(uci, articles, stories=True))
        # Queries come from the stored headlines, so most of them find something.
        queries = query_texts(uci[: min(articles, len(uci))], QUERIES, settings)
        page = follow_service.LATEST_PAGE_SIZE
        for query in queries[:5]:  # warm caches and compiled statements before timing
            await follow_service.latest(
                sessions, settings, guild_id=GUILD_ID, channel_id=CHANNEL_ID,
                user_id=USER_ID, text=query.normalized,
            )  # fmt: skip
        fast: list[float] = []
        naive: list[float] = []
        agree = compared = with_results = 0
        for query in queries:
            started = time.perf_counter()
            result = await follow_service.latest(
                sessions, settings, guild_id=GUILD_ID, channel_id=CHANNEL_ID,
                user_id=USER_ID, text=query.normalized,
            )  # fmt: skip
            fast.append(time.perf_counter() - started)
            ids = [line.item_id for line in result.lines]
            with_results += bool(ids)
            if len(naive) >= naive_sample:
                continue
            started = time.perf_counter()
            loaded = await naive_latest(sessions, query, page)
            naive.append(time.perf_counter() - started)
            # The baseline only sees the newest rows: compare what it did find.
            if loaded:
                compared += 1
                agree += ids[: len(loaded)] == loaded
        return {
            "backend": backend,
            "articles": articles,
            "insert_seconds": round(insert_seconds, 1),
            "insert_items_per_s": round(articles / insert_seconds),
            "queries": len(queries),
            "naive_queries": len(naive),
            "queries_with_results": with_results,
            "latest": _latency(fast),
            "naive": _latency(naive),
            "agree": agree,
            "compared": compared,
        }
    finally:
        await engine.dispose()


async def run_async(articles: int, naive_sample: int, workdir: Path) -> dict[str, Any]:
    sqlite_url = f"sqlite+aiosqlite:///{workdir / 'latest.db'}"
    results = [await bench_backend(sqlite_url, articles, "SQLite", naive_sample)]
    admin = admin_url()
    if admin:
        async with fresh_database(admin, "latest") as url:
            results.append(await bench_backend(url, articles, "PostgreSQL", naive_sample))
    return {"backends": results, "postgres": bool(admin), "naive_rows": NAIVE_ROWS}


def run(quick: bool, *, articles: int | None = None) -> dict[str, Any]:
    count = articles or (20_000 if quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="sw-bench-latest-") as tmp:
        return asyncio.run(run_async(count, 10 if quick else 50, Path(tmp)))


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for r in result["backends"]:
        for label, key in (("latest() (FTS + exact match)", "latest"), ("naive", "naive")):
            figures = r[key]
            name = label if key == "latest" else f"naive: newest {result['naive_rows']:,} + match"
            rows.append(
                [
                    r["backend"],
                    f"{r['articles']:,}",
                    name,
                    f"{figures['p50_ms']:.1f}",
                    f"{figures['p99_ms']:.1f}",
                    f"{figures['mean_ms']:.1f}",
                    f"{r['queries']} ({r['queries_with_results']} with results)"
                    if key == "latest"
                    else f"first {r['naive_queries']} ({r['agree']}/{r['compared']} agree)",
                    f"{r['insert_items_per_s']:,} items/s ({r['insert_seconds']} s)" if key == "latest" else "",
                ]
            )
    note = "" if result["postgres"] else "\n\nPostgreSQL skipped: STORYWATCH_TEST_POSTGRES_URL is not set."
    return (
        markdown_table(
            ["backend", "articles", "method", "p50 ms", "p99 ms", "mean ms", "queries", "insert"],
            rows,
        )
        + note
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 articles instead of 100,000")
    parser.add_argument("--articles", type=int, default=None)
    args = parser.parse_args()
    print(markdown(run(args.quick, articles=args.articles)))


if __name__ == "__main__":
    main()
