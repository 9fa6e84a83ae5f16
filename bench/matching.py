"""Benchmark: match real headlines against 10k / 100k / 1M follows, index vs naive loop.

Run ``python -m bench.matching [--quick]`` from the repository root. Follows are built
from the words of the headlines themselves (fixed seed), so many of them match. Each
item is timed from its raw title: building the MatchDoc plus matching. The naive loop
calls ``matches`` for every follow; at the larger sizes it runs on a sample of items
(the table says how many). The index's answers are checked against the naive loop's
on that sample.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bot.errors import QueryError
from bot.query.document import MatchDoc
from bot.query.index import FollowIndex
from bot.query.matcher import matches
from bot.query.model import Query
from bot.query.parser import parse_query
from bot.query.text import tokenize

HEADLINES = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "stories" / "uci-entertainment-2014-05-01_2014-06-14.tsv"
)
SEED = 20140524
SIZES = (10_000, 100_000, 1_000_000)
# items timed through the index / through the naive loop, per size: (full, quick)
INDEX_ITEMS = {10_000: (None, 5_000), 100_000: (None, 5_000), 1_000_000: (10_000, 2_000)}
NAIVE_ITEMS = {10_000: (500, 100), 100_000: (100, 20), 1_000_000: (20, 5)}
# Words nobody follows on their own; follows are drawn from the remaining words.
_STOPWORD_TEXT = (
    "the and for with from that this are was were has have had not but you your its "
    "his her our their they she him who what when where will would can new after over "
    "out into about more than just all one two first last says said via"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def load_titles(path: Path = HEADLINES) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        title_at = header.index("TITLE")
        return [row[title_at] for row in rows]


def _content_words(words: Sequence[str]) -> list[str]:
    return [w for w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()]


def _term(rng: random.Random, words: list[str], content: list[str]) -> str:
    roll = rng.random()
    if roll < 0.15 and len(words) >= 2:
        start = rng.randrange(len(words) - 1)
        return f'"{words[start]} {words[start + 1]}"'
    if roll < 0.20:
        long_words = [w for w in content if len(w) >= 6]
        if long_words:
            word = rng.choice(long_words)
            return word[: rng.randint(4, len(word) - 1)] + "*"
    return rng.choice(content)


def make_follow_texts(tokenized: list[list[str]], count: int, rng: random.Random) -> list[str]:
    """Queries of 1 to 4 terms taken from one headline, some with an OR or an exclusion."""
    texts: list[str] = []
    while len(texts) < count:
        words = rng.choice(tokenized)
        content = _content_words(words)
        if not content:
            continue
        parts = [_term(rng, words, content) for _ in range(rng.choices((1, 2, 3, 4), (3, 4, 2, 1))[0])]
        if rng.random() < 0.10:
            other = _content_words(rng.choice(tokenized))
            if other:
                parts[-1] += " OR " + rng.choice(other)
        if rng.random() < 0.15:
            other = _content_words(rng.choice(tokenized))
            if other:
                parts.append("-" + rng.choice(other))
        texts.append(" ".join(parts))
    return texts


def _parse_all(texts: list[str]) -> list[Query]:
    queries = []
    for text in texts:
        try:
            queries.append(parse_query(text))
        except QueryError:
            continue  # e.g. "word -word"; the benchmark only needs valid follows
    return queries


def _timing(wall_ns: list[int], cpu_ns: list[int]) -> dict[str, float]:
    """Rate, median and p99 per item, by wall clock and by this thread's CPU time."""
    figures: dict[str, float] = {"items": len(wall_ns)}
    for clock, per_item in (("wall", wall_ns), ("cpu", cpu_ns)):
        ordered = sorted(per_item)
        total_s = sum(ordered) / 1e9
        figures[f"items_per_s_{clock}"] = len(ordered) / total_s if total_s else float("inf")
        figures[f"median_ms_{clock}"] = statistics.median(ordered) / 1e6
        figures[f"p99_ms_{clock}"] = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
    return figures


def _time_index(index: FollowIndex[int], titles: Sequence[str]) -> tuple[dict[str, float], float, float]:
    wall: list[int] = []
    cpu: list[int] = []
    matched = candidates = 0
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for title in titles:
        started, started_cpu = wall_clock(), cpu_clock()
        found = index.match(MatchDoc.from_article(title))
        cpu.append(cpu_clock() - started_cpu)
        wall.append(wall_clock() - started)
        matched += len(found)
    for title in titles[:1000]:  # counted outside the timed loop
        candidates += index.candidate_count(MatchDoc.from_article(title))
    return _timing(wall, cpu), matched / len(titles), candidates / min(len(titles), 1000)


def _time_naive(queries: list[Query], index: FollowIndex[int], titles: Sequence[str]) -> tuple[dict[str, float], bool]:
    """Time ``matches`` over every follow (key = position in ``queries``) per item."""
    wall: list[int] = []
    cpu: list[int] = []
    agree = True
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for title in titles:
        started, started_cpu = wall_clock(), cpu_clock()
        doc = MatchDoc.from_article(title)
        found = {key for key, query in enumerate(queries) if matches(query, doc)}
        cpu.append(cpu_clock() - started_cpu)
        wall.append(wall_clock() - started)
        agree = agree and found == index.match(doc)
    return _timing(wall, cpu), agree


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _bench_size(
    size: int, titles: list[str], tokenized: list[list[str]], frequency: Counter[str], quick: bool
) -> dict[str, Any]:
    rng = random.Random(SEED + size)
    gc.collect()
    rss_before = _rss_mb()
    started = time.perf_counter()
    queries = _parse_all(make_follow_texts(tokenized, size, rng))
    parsed_s = time.perf_counter() - started
    started = time.perf_counter()
    index: FollowIndex[int] = FollowIndex(term_frequency=frequency)
    for key, query in enumerate(queries):
        index.add(key, query)
    added_s = time.perf_counter() - started
    gc.collect()
    rss_after = _rss_mb()

    index_items = INDEX_ITEMS[size][1 if quick else 0]
    naive_items = NAIVE_ITEMS[size][1 if quick else 0]
    timed_titles = titles if index_items is None else rng.sample(titles, index_items)
    indexed, mean_matches, mean_candidates = _time_index(index, timed_titles)
    naive, agree = _time_naive(queries, index, rng.sample(titles, naive_items))
    result = {
        "follows": len(queries),
        "distinct_queries": index.distinct_queries,
        "parse_s": parsed_s,
        "add_s": added_s,
        "rss_mb": rss_after,
        "rss_growth_mb": rss_after - rss_before,
        "index": indexed,
        "naive": naive,
        "mean_matches": mean_matches,
        "mean_candidates": mean_candidates,
        "agree": agree,
    }
    del index, queries
    gc.collect()
    return result


def run(quick: bool) -> dict[str, Any]:
    """Run every size; returns {"sizes": {follows: figures}, "items_available": n}."""
    titles = load_titles()
    tokenized = [tokenize(title) for title in titles]
    # seed rarity with document frequencies of the same headlines
    frequency: Counter[str] = Counter()
    for doc in (MatchDoc.from_article(title) for title in titles):
        frequency.update(doc.positions.keys())
    results = {size: _bench_size(size, titles, tokenized, frequency, quick) for size in SIZES}
    return {"items_available": len(titles), "quick": quick, "sizes": results}


def _pair(figures: dict[str, float], name: str, spec: str) -> str:
    return f"{figures[name + '_wall']:{spec}} ({figures[name + '_cpu']:{spec}})"


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table; "wall (cpu)" pairs give both clocks."""
    lines = [
        "| follows | distinct queries | parse + add s | RSS MB (growth) "
        "| index items/s | index median ms | index p99 ms | verified / item | matches / item "
        "| naive sample | naive items/s | naive median ms | naive p99 ms | agree |",
        "|" + "---|" * 14,
    ]
    for size, r in report["sizes"].items():
        ix, nv = r["index"], r["naive"]
        lines.append(
            f"| {size:,} | {r['distinct_queries']:,} | {r['parse_s']:.1f} + {r['add_s']:.1f} "
            f"| {r['rss_mb']:.0f} (+{r['rss_growth_mb']:.0f}) "
            f"| {_pair(ix, 'items_per_s', ',.0f')} | {_pair(ix, 'median_ms', '.3f')} "
            f"| {_pair(ix, 'p99_ms', '.3f')} "
            f"| {r['mean_candidates']:.1f} | {r['mean_matches']:.1f} "
            f"| {nv['items']} | {_pair(nv, 'items_per_s', ',.1f')} "
            f"| {_pair(nv, 'median_ms', '.1f')} | {_pair(nv, 'p99_ms', '.1f')} "
            f"| {'yes' if r['agree'] else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer items, for a smoke run")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    report = run(args.quick)
    sizes = report["sizes"]
    print(
        f"{report['items_available']:,} headlines; index timed on "
        + ", ".join(f"{r['index']['items']:,} items at {s:,}" for s, r in sizes.items())
        + "; naive loop timed on a random sample of "
        + ", ".join(f"{r['naive']['items']} items at {s:,}" for s, r in sizes.items())
        + " follows. Per item = MatchDoc.from_article(title) + match. Times are wall clock"
        + " (this thread's CPU time in brackets);"
        + f" 1-min load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end."
    )
    print(markdown(report))


if __name__ == "__main__":
    main()
