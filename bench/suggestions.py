"""/follow's suggestions: the cost of a keystroke, against ranking every time.

The UCI entertainment headlines are grouped by the real StoryBook (their own dates, a
window long enough to keep every story open: the most a server could see), and the
suggestions are read the way the bot does (``bot.follow_suggestions``): names ranked
once per server and minute, then each keystroke reads the ranked names until 25 fit.
The baseline, in the same run: each keystroke filters and sorts every name. Both must
give the same suggestions among the heaviest names the ranked list keeps.
Typed texts are the prefixes a member types on the way to some of the heaviest names,
plus texts that match nothing (a full scan).

    python -m bench.suggestions [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import load_headlines, markdown_table, percentile
from bot.follow_suggestions import MAX_SUGGESTIONS, Suggestion, names_by_weight, rank, suggest
from bot.prepare import row_fingerprint
from bot.records import ItemRow
from bot.stories.text import fold
from bot.story_book import StoryBook

QUICK_HEADLINES = 5_000
NO_MATCH = ("zzq", "qxw kar", "xyzzy")


def sort_every_keystroke(weights: Mapping[str, int], typed: str) -> list[Suggestion]:
    """The baseline: filter every name, then sort the matches by weight (all of them: the
    caller compares them with the ranked list's, which keeps only the heaviest)."""
    wanted = fold(typed).split()
    found = [name for name in weights if all(any(w.startswith(p) for w in name.split()) for p in wanted)]
    found.sort(key=lambda name: (-weights[name], name))
    return [Suggestion(name, weights[name]) for name in found]


def grouped_stories(count: int | None) -> StoryBook:
    headlines = load_headlines()[:count]
    book = StoryBook(timedelta(days=60))
    rows, prints = [], []
    for n, headline in enumerate(headlines):
        published = datetime.fromtimestamp(headline.timestamp_ms / 1000, UTC)
        row = ItemRow(
            keys=(f"g:{n}",),
            article_key=headline.url,
            title=headline.title,
            link=headline.url,
            summary="",
            author=None,
            categories=(),
            image=None,
            source_name=headline.publisher,
            published_at=published,
        )
        rows.append(row)
        prints.append(row_fingerprint(row, published))
    book.assign(rows, prints)
    return book


def typed_texts(weights: Mapping[str, int], names: int = 20) -> list[str]:
    """Every prefix of the heaviest names' words, as typed, and texts matching nothing."""
    texts = [""]
    for name in sorted(weights, key=lambda n: -weights[n])[:names]:
        texts += [name[:end] for end in range(1, len(name) + 1) if not name[:end].endswith(" ")]
    return texts + list(NO_MATCH)


def _time(fn: Callable[[str], list[Suggestion]], texts: Sequence[str]) -> tuple[list[float], list[list[Suggestion]]]:
    seconds, answers = [], []
    for text in texts:
        started = time.perf_counter()
        answers.append(fn(text))
        seconds.append(time.perf_counter() - started)
    return seconds, answers


def run(quick: bool) -> dict[str, Any]:
    book = grouped_stories(QUICK_HEADLINES if quick else None)
    stories = book.grouper.open_stories()
    started = time.perf_counter()
    weights = names_by_weight(stories)
    weigh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ranked = rank(weights)
    rank_seconds = time.perf_counter() - started
    texts = typed_texts(weights)
    fast, fast_answers = _time(lambda text: suggest(ranked, text), texts)
    slow, slow_answers = _time(lambda text: sort_every_keystroke(weights, text), texts)
    # The ranked list keeps the heaviest RANKED_NAMES: the baseline's answer past those is expected.
    kept = {name for name, _words, _weight in ranked}
    slow_answers = [[s for s in answer if s.query in kept][:MAX_SUGGESTIONS] for answer in slow_answers]
    return {
        "headlines": sum(story.article_count for story in stories),
        "stories": len(stories),
        "names": len(weights),
        "keystrokes": len(texts),
        "names_ms": round(weigh_seconds * 1000, 1),
        "rank_ms": round(rank_seconds * 1000, 1),
        "ranked": _latency(fast),
        "sort_every_keystroke": _latency(slow),
        "same_answers": sum(a == b for a, b in zip(fast_answers, slow_answers, strict=True)),
    }


def _latency(seconds: Sequence[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(percentile(ms, 0.5), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def markdown(result: dict[str, Any]) -> str:
    head = (
        f"{result['headlines']:,} headlines in {result['stories']:,} open stories, {result['names']:,} names "
        f"(weighing {result['names_ms']} ms, ranking {result['rank_ms']} ms, once a server and minute); "
        f"{result['keystrokes']} keystrokes, same suggestions both ways: "
        f"{result['same_answers']}/{result['keystrokes']}\n\n"
    )
    rows = [
        [label, f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}", f"{r['mean_ms']:.3f}"]
        for label, r in (
            ("ranked once, read until 25 fit", result["ranked"]),
            ("filter and sort every keystroke (baseline)", result["sort_every_keystroke"]),
        )
    ]
    return head + markdown_table(["a keystroke", "p50 ms", "p99 ms", "mean ms"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"the first {QUICK_HEADLINES:,} headlines")
    args = parser.parse_args()
    print(markdown(run(args.quick)))


if __name__ == "__main__":
    main()
