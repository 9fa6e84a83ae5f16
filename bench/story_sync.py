"""Story sync between workers: what it costs, beside the grouping every worker does, and
what it buys (grouping quality against one process, and against workers that never sync).

The UCI entertainment headlines, in time order, are polled in turns of 50 articles (one
feed's poll) shared out among ``workers`` StoryBooks in rotation, as workers claiming
different feeds. Each turn the worker assigns its articles and serializes the stories they
touched, as a poll saves them. With sync, each worker first takes in (``StoryBook.take_in``:
the sync after its database read) what the others saved since its last turn. Pairs are
scored within one UTC day against the aggregator's story ids (``bench.grouping``).

    python -m bench.story_sync [--quick] [--workers N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import markdown_table
from bench.grouping import WEDDING_IDS, Article, load_uci, within_day_counts
from bot.records import ItemRow
from bot.stories.fingerprint import StoryFingerprint
from bot.story_book import StoryBook

TURN = 50  # articles per poll
# Saves of one turn carry one second of the database's clock: the sync's overlap (10 s)
# then spans the last ten turns, as it spans the last few polls of a busy worker.
TURN_CLOCK = timedelta(seconds=1)
WINDOW = timedelta(hours=48)
QUICK_ARTICLES = 12_000
WORKERS = 3
Save = tuple[str, str, datetime]


@dataclass
class Run:
    label: str
    predicted: dict[str, str]
    assign_seconds: float = 0.0  # assign + serialize the touched stories (every worker's own work)
    take_in_seconds: float = 0.0
    taken_in: int = 0


def _row(article: Article) -> ItemRow:
    return ItemRow(
        keys=(article.article_id,),
        article_key=article.link,
        title=article.title,
        link=article.link,
        summary=article.summary,
        author=None,
        categories=(),
        image=None,
        source_name=article.outlet,
        published_at=article.published,
    )


def group(articles: Sequence[Article], prints: Sequence[StoryFingerprint], *, workers: int, sync: bool) -> Run:
    books = [StoryBook(WINDOW, worker_id=f"bench:{n}") for n in range(workers)]
    unseen: list[list[Save]] = [[] for _ in books]  # per worker: the others' saves since its last turn
    label = "1 process" if workers == 1 else f"{workers} workers, " + ("sync" if sync else "no sync")
    run = Run(label, {})
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    for turn, start in enumerate(range(0, len(articles), TURN)):
        worker = turn % workers
        book = books[worker]
        saved_at = clock + turn * TURN_CLOCK
        if sync and unseen[worker]:
            started = time.perf_counter()
            run.taken_in += book.take_in(unseen[worker], now=saved_at)
            run.take_in_seconds += time.perf_counter() - started
            unseen[worker] = []
        batch = articles[start : start + TURN]
        started = time.perf_counter()
        assigned, touched = book.assign([_row(a) for a in batch], prints[start : start + TURN])
        saves = [(story.story_id, story.to_json(), saved_at) for story in book.latest(touched)]
        run.assign_seconds += time.perf_counter() - started
        for other in range(workers):
            if other != worker:
                unseen[other] += saves
        run.predicted.update((a.article_id, row.story_id or "") for a, row in zip(batch, assigned, strict=True))
    return run


def run(quick: bool = False, *, workers: int = WORKERS, articles_max: int | None = None) -> dict[str, Any]:
    articles = load_uci()[: articles_max or (QUICK_ARTICLES if quick else None)]
    prints = [a.fingerprint() for a in articles]
    runs = [
        group(articles, prints, workers=1, sync=False),
        group(articles, prints, workers=workers, sync=False),
        group(articles, prints, workers=workers, sync=True),
    ]
    rows = []
    for r in runs:
        quality = within_day_counts(articles, r.predicted, dont_care=WEDDING_IDS)
        rows.append(
            {
                "run": r.label,
                "precision": round(quality.precision, 4),
                "recall": round(quality.recall, 4),
                "f1": round(quality.f1, 4),
                "stories": len(set(r.predicted.values())),
                "assign_us_per_article": round(1e6 * r.assign_seconds / len(articles), 1),
                "take_in_us_per_article": round(1e6 * r.take_in_seconds / len(articles), 1),
                "taken_in": r.taken_in,
                "take_in_us_per_story": round(1e6 * r.take_in_seconds / r.taken_in, 1) if r.taken_in else None,
            }
        )
    return {"articles": len(articles), "workers": workers, "turn": TURN, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    head = (
        f"{result['articles']:,} UCI headlines in turns of {result['turn']} shared out among "
        f"{result['workers']} workers; pairs within one UTC day, wedding cross-id pairs ignored. "
        "Assign = assign + serialize the touched stories (every worker's own work); take in = "
        "parse, merge and load the others' saves."
    )
    table = markdown_table(
        ["run", "P", "R", "F1", "stories", "assign µs/article", "take in µs/article", "stories taken in",
         "take in µs/story"],
        [
            [
                r["run"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", f"{r['stories']:,}",
                f"{r['assign_us_per_article']:,.0f}", f"{r['take_in_us_per_article']:,.0f}", f"{r['taken_in']:,}",
                "-" if r["take_in_us_per_story"] is None else f"{r['take_in_us_per_story']:,.0f}",
            ]
            for r in result["rows"]
        ],
    )  # fmt: skip
    return f"{head}\n\n{table}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"the first {QUICK_ARTICLES:,} headlines")
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args()
    print(markdown(run(args.quick, workers=args.workers)))


if __name__ == "__main__":
    main()
