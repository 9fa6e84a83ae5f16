"""Evaluate story grouping: pairwise precision/recall on real and hand-labelled data.

    python -m bench.grouping            # tables in markdown
    python -m bench.grouping --sweep    # also the threshold sweep used for tuning

1. UCI News Aggregator, entertainment, 2014-05-05..06-14 (../shared/stories/):
   headlines only, aggregator STORY id as truth. A STORY id is one collection pass,
   so one real story spans several ids across days; pairs are therefore scored only
   WITHIN ONE UTC DAY (pairs of headlines collected the same day). Variants for the
   12 Kardashian/Kanye wedding ids that the shared README lists: "strict" (ids as
   given), "wedding ids = one story" (cross-id pairs count as same story), and
   "wedding cross-id pairs ignored" (such pairs count neither way).
2. tests/data/stories_labelled.tsv: hand-written articles with summaries, all pairs.

Articles go through StoryGrouper in timestamp order (ties by id). Baselines in the
same run: exact normalized title, and "same first two distinctive names".
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.stories.fingerprint import StoryFingerprint, fingerprint
from bot.stories.grouper import DEFAULT_WINDOW, StoryGrouper
from bot.stories.similarity import DEFAULT_THRESHOLDS, Thresholds
from bot.stories.text import fold

REPO = Path(__file__).resolve().parents[1]
SHARED_STORIES = REPO / ".." / "shared" / "stories"
UCI_ENTERTAINMENT = SHARED_STORIES / "uci-entertainment-2014-05-01_2014-06-14.tsv"
LABELLED = REPO / "tests" / "data" / "stories_labelled.tsv"

# The Kim Kardashian / Kanye West wedding STORY ids listed in the shared README.
WEDDING_IDS = frozenset(
    {
        "dQ60SH2pFT4R08Mfb-ZC2BGAI-E_M",
        "dPBHCCfZrJ1MvoMIcdoV4NBzuwEvM",
        "dPq2eZpLsBVI39MzcKIInKv_a3KYM",
        "diO69GdJ_ej-dNMjfnoQqoEIxrsJM",
        "d8q1z_72a88XPjMZzOWCXKwWonZgM",
        "dkqOgAdP5yFwphMz5qRS4cwe8CioM",
        "d3C-5RtPIEBKmMMny1vco8N9-aINM",
        "d2P1IL6aQj6y5bMMB2cIAehoYcKmM",
        "dpFsJPHfHX9aF9M6iKphFeQmXqNzM",
        "d-iRGCe3kU4MCyMCkh4ONS3Op2c2M",
        "dmtD4I7lZUoOJqMNbtjH_yq-jFQvM",
        "djpzRcf54h1EmRM8L8WzbLk2eCN9M",
    }
)
KK_PATTERN = re.compile(r"kardashian|kanye", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Article:
    article_id: str
    truth: str  # true story label
    published: datetime
    outlet: str
    link: str | None
    title: str
    summary: str

    def fingerprint(self) -> StoryFingerprint:
        return fingerprint(self.title, self.summary, self.link, self.published)


# -- data -------------------------------------------------------------------------


def load_uci(path: Path = UCI_ENTERTAINMENT) -> list[Article]:
    """UCI rows (ID TITLE URL PUBLISHER CATEGORY STORY HOSTNAME TIMESTAMP), time order."""
    articles: list[Article] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            articles.append(
                Article(
                    article_id=row[0],
                    truth=row[5],
                    published=datetime.fromtimestamp(int(row[7]) / 1000, UTC),
                    outlet=row[3],
                    link=row[2].replace("\\?", "?"),
                    title=row[1],
                    summary="",
                )
            )
    articles.sort(key=lambda a: (a.published, int(a.article_id)))
    return articles


def load_labelled(path: Path = LABELLED) -> list[Article]:
    """The hand-labelled set (id story published_utc outlet link title summary)."""
    articles: list[Article] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            articles.append(
                Article(
                    article_id=row["id"],
                    truth=row["story"],
                    published=datetime.fromisoformat(row["published_utc"]),
                    outlet=row["outlet"],
                    link=row["link"] or None,
                    title=row["title"],
                    summary=row["summary"],
                )
            )
    articles.sort(key=lambda a: (a.published, a.article_id))
    return articles


# -- grouping runs -----------------------------------------------------------------


def group_with_grouper(
    articles: Sequence[Article],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    window: timedelta = DEFAULT_WINDOW,
    fingerprints: Sequence[StoryFingerprint] | None = None,
) -> dict[str, str]:
    """article id -> predicted story id, feeding articles in the given (time) order."""
    grouper = StoryGrouper(window=window, thresholds=thresholds)
    fps = fingerprints if fingerprints is not None else [a.fingerprint() for a in articles]
    return {a.article_id: grouper.assign(a.article_id, fp).story_id for a, fp in zip(articles, fps, strict=True)}


def group_exact_title(articles: Sequence[Article]) -> dict[str, str]:
    """Baseline: same folded, punctuation-free title."""
    return {a.article_id: " ".join(re.findall(r"\w+", fold(a.title))) for a in articles}


def group_first_two_names(articles: Sequence[Article], fps: Sequence[StoryFingerprint]) -> dict[str, str]:
    """Baseline: same set of the first two distinctive names; fewer names -> alone."""
    out: dict[str, str] = {}
    for article, fp in zip(articles, fps, strict=True):
        if len(fp.names) >= 2:
            out[article.article_id] = "|".join(sorted(fp.names[:2]))
        else:
            out[article.article_id] = f"solo:{article.article_id}"
    return out


# -- pairwise scoring --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairCounts:
    true_positive: int
    predicted: int  # pairs put in the same story
    actual: int  # pairs that are the same story

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.actual if self.actual else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.true_positive + other.true_positive,
            self.predicted + other.predicted,
            self.actual + other.actual,
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "true_positive_pairs": self.true_positive,
            "predicted_pairs": self.predicted,
            "actual_pairs": self.actual,
        }


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_counts(items: Iterable[tuple[str, str]], dont_care: frozenset[str] = frozenset()) -> PairCounts:
    """Pairwise counts for (predicted, truth) labels of one comparison block.

    Pairs whose two truths are DIFFERENT members of ``dont_care`` count neither as
    predicted nor as actual pairs.
    """
    cells: Counter[tuple[str, str]] = Counter(items)
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    predicted_dont_care: Counter[str] = Counter()
    for (pred, truth), n in cells.items():
        predicted[pred] += n
        actual[truth] += n
        if truth in dont_care:
            predicted_dont_care[pred] += n
    tp = sum(_pairs(n) for n in cells.values())
    predicted_pairs = sum(_pairs(n) for n in predicted.values())
    ignored = sum(_pairs(n) for n in predicted_dont_care.values()) - sum(
        _pairs(n) for (_p, truth), n in cells.items() if truth in dont_care
    )
    return PairCounts(tp, predicted_pairs - ignored, sum(_pairs(n) for n in actual.values()))


def within_day_counts(
    articles: Sequence[Article],
    predicted: dict[str, str],
    *,
    keep: Callable[[Article], bool] = lambda _a: True,
    relabel: Callable[[str], str] = lambda t: t,
    dont_care: frozenset[str] = frozenset(),
) -> PairCounts:
    """Sum of pair counts over blocks of articles collected the same UTC day."""
    days: dict[date, list[tuple[str, str]]] = {}
    for article in articles:
        if keep(article):
            day = article.published.date()
            days.setdefault(day, []).append((predicted[article.article_id], relabel(article.truth)))
    total = PairCounts(0, 0, 0)
    for block in days.values():
        total = total + pair_counts(block, dont_care)
    return total


# -- reports -----------------------------------------------------------------------


def _is_kk(article: Article) -> bool:
    return bool(KK_PATTERN.search(article.title))


def _wedding(truth: str) -> str:
    return "WEDDING" if truth in WEDDING_IDS else truth


def evaluate_uci(
    articles: Sequence[Article],
    fps: Sequence[StoryFingerprint],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """method -> variant -> metrics, for the grouper and the two baselines."""
    methods = {
        "grouper": group_with_grouper(articles, thresholds, fingerprints=fps),
        "baseline: exact title": group_exact_title(articles),
        "baseline: same first 2 names": group_first_two_names(articles, fps),
    }
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for method, predicted in methods.items():
        out[method] = {
            "all, strict ids": within_day_counts(articles, predicted).as_dict(),
            "all, wedding ids = one story": within_day_counts(articles, predicted, relabel=_wedding).as_dict(),
            "all, wedding cross-id ignored": within_day_counts(articles, predicted, dont_care=WEDDING_IDS).as_dict(),
            "K/K, strict ids": within_day_counts(articles, predicted, keep=_is_kk).as_dict(),
            "K/K, wedding ids = one story": within_day_counts(
                articles, predicted, keep=_is_kk, relabel=_wedding
            ).as_dict(),
            "K/K, wedding cross-id ignored": within_day_counts(
                articles, predicted, keep=_is_kk, dont_care=WEDDING_IDS
            ).as_dict(),
        }
    return out


def labelled_counts(articles: Sequence[Article], predicted: dict[str, str]) -> PairCounts:
    """All pairs of the labelled set (it spans a few weeks; the window does the rest)."""
    return pair_counts((predicted[a.article_id], a.truth) for a in articles)


def evaluate_labelled(
    articles: Sequence[Article], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, dict[str, float | int]]:
    fps = [a.fingerprint() for a in articles]
    methods = {
        "grouper": group_with_grouper(articles, thresholds, fingerprints=fps),
        "baseline: exact title": group_exact_title(articles),
        "baseline: same first 2 names": group_first_two_names(articles, fps),
    }
    return {m: labelled_counts(articles, p).as_dict() for m, p in methods.items()}


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _metric_row(label: list[str], m: dict[str, float | int]) -> list[str]:
    return [
        *label,
        f"{m['precision']:.3f}",
        f"{m['recall']:.3f}",
        f"{m['f1']:.3f}",
        f"{m['true_positive_pairs']:,}",
        f"{m['predicted_pairs']:,}",
        f"{m['actual_pairs']:,}",
    ]


_METRIC_HEADER = ["P", "R", "F1", "TP pairs", "predicted pairs", "true pairs"]


@dataclass(frozen=True, slots=True)
class Throughput:
    articles: int
    fingerprint_seconds: float
    assign_seconds: float
    stories_opened: int
    peak_open_stories: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "articles": self.articles,
            "fingerprint_us_per_article": round(1e6 * self.fingerprint_seconds / self.articles, 1),
            "assign_us_per_article": round(1e6 * self.assign_seconds / self.articles, 1),
            "stories_opened": self.stories_opened,
            "peak_open_stories": self.peak_open_stories,
        }


def measure_throughput(articles: Sequence[Article]) -> Throughput:
    """Wall time of fingerprinting and of ``assign`` over ``articles``, one pass each."""
    started = time.perf_counter()
    fps = [a.fingerprint() for a in articles]
    fingerprinted = time.perf_counter()
    grouper = StoryGrouper()
    opened = peak = 0
    for article, fp in zip(articles, fps, strict=True):
        opened += grouper.assign(article.article_id, fp).is_new
        peak = max(peak, len(grouper))
    done = time.perf_counter()
    return Throughput(len(articles), fingerprinted - started, done - fingerprinted, opened, peak)


def run(*, sweep: bool = False) -> dict[str, Any]:
    """All evaluations (and optionally the tuning sweep) as a dict."""
    uci = load_uci()
    uci_fps = [a.fingerprint() for a in uci]
    labelled = load_labelled()
    result: dict[str, Any] = {
        "thresholds": DEFAULT_THRESHOLDS,
        "window_hours": DEFAULT_WINDOW.total_seconds() / 3600,
        "uci_articles": len(uci),
        "uci": evaluate_uci(uci, uci_fps),
        "labelled_articles": len(labelled),
        "labelled_stories": len({a.truth for a in labelled}),
        "labelled": evaluate_labelled(labelled),
        "throughput": measure_throughput(uci).as_dict(),
    }
    if sweep:
        result["sweep"] = threshold_sweep(uci, uci_fps, labelled)
    return result


def _sweep_grid() -> list[Thresholds]:
    """Title-path variants (these move both data sets), then summary-path variants
    (these only move the labelled set: UCI has no summaries)."""
    base = DEFAULT_THRESHOLDS
    grid = [replace(base, title=t) for t in (0.34, 0.4, 0.45, 0.5, 0.6)]
    grid += [replace(base, min_event_tokens=2), replace(base, name_conflict=False)]
    grid += [replace(base, full=f) for f in (0.15, 0.18, 0.2, 0.22, 0.3)]
    grid += [replace(base, min_full_event_tokens=k) for k in (1, 3)]
    return grid


def threshold_sweep(
    uci: Sequence[Article], uci_fps: Sequence[StoryFingerprint], labelled: Sequence[Article]
) -> list[dict[str, Any]]:
    """Grouper metrics over a grid of thresholds (what the defaults were chosen from)."""
    labelled_fps = [a.fingerprint() for a in labelled]
    uci_cache: dict[tuple[float, int, bool], tuple[PairCounts, PairCounts]] = {}
    rows: list[dict[str, Any]] = []
    for th in _sweep_grid():
        key = (th.title, th.min_event_tokens, th.name_conflict)
        if key not in uci_cache:
            predicted = group_with_grouper(uci, th, fingerprints=uci_fps)
            uci_cache[key] = (
                within_day_counts(uci, predicted, dont_care=WEDDING_IDS),
                within_day_counts(uci, predicted, keep=_is_kk, dont_care=WEDDING_IDS),
            )
        labelled_predicted = group_with_grouper(labelled, th, fingerprints=labelled_fps)
        rows.append(
            {
                "thresholds": th,
                "uci": uci_cache[key][0],
                "uci_kk": uci_cache[key][1],
                "labelled": labelled_counts(labelled, labelled_predicted),
            }
        )
    return rows


def render(result: dict[str, Any]) -> str:
    th: Thresholds = result["thresholds"]
    parts = [
        "## Story grouping evaluation",
        "",
        f"Thresholds: title >= {th.title}, full >= {th.full}, "
        f"title event tokens >= {th.min_event_tokens}, "
        f"full event tokens >= {th.min_full_event_tokens}, "
        f"name conflict veto {th.name_conflict}; "
        f"window {result['window_hours']:.0f} h.",
        "",
        f"### UCI entertainment headlines ({result['uci_articles']:,} articles, "
        "pairs within the same UTC day, aggregator STORY id as truth)",
        "",
    ]
    rows = []
    for method, variants in result["uci"].items():
        for variant, metrics in variants.items():
            rows.append(_metric_row([method, variant], metrics))
    parts += [_table(rows, ["method", "subset / truth variant", *_METRIC_HEADER]), ""]
    parts += [
        f"### Hand-labelled set ({result['labelled_articles']} articles, "
        f"{result['labelled_stories']} stories, all pairs)",
        "",
    ]
    rows = [_metric_row([m], metrics) for m, metrics in result["labelled"].items()]
    parts += [_table(rows, ["method", *_METRIC_HEADER]), ""]
    if "sweep" in result:
        parts += ["### Threshold sweep (UCI: wedding cross-id pairs ignored)", ""]
        rows = []
        for row in result["sweep"]:
            t: Thresholds = row["thresholds"]
            rows.append(
                [
                    f"{t.title}",
                    f"{t.full}",
                    f"{t.min_event_tokens}",
                    f"{t.min_full_event_tokens}",
                    "yes" if t.name_conflict else "no",
                    *(f"{row[key].precision:.3f} / {row[key].recall:.3f}" for key in ("uci", "uci_kk", "labelled")),
                ]
            )
        parts += [
            _table(
                rows,
                [
                    "title",
                    "full",
                    "title events",
                    "full events",
                    "veto",
                    "UCI P / R",
                    "UCI K/K P / R",
                    "labelled P / R",
                ],
            ),
            "",
        ]
    tp = result["throughput"]
    parts += [
        "### Throughput (UCI file, one pass, this machine)",
        "",
        f"{tp['articles']:,} articles: fingerprint {tp['fingerprint_us_per_article']} us/article, "
        f"assign {tp['assign_us_per_article']} us/article; {tp['stories_opened']:,} stories "
        f"opened, at most {tp['peak_open_stories']:,} open at once.",
    ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sweep", action="store_true", help="also print the threshold sweep")
    args = parser.parse_args(argv)
    print(render(run(sweep=args.sweep)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
