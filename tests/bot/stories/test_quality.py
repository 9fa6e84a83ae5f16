"""Regression guards on grouping quality, computed on data (floors measured, see below).

Measured with the default thresholds (python -m bench.grouping): labelled set
precision 1.000 / recall 0.617; UCI 2014-05-28 (five Kardashian/Kanye ids, 2,521
headlines) precision well above the floor. Floors leave a margin for small changes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bench.grouping import (
    WEDDING_IDS,
    group_with_grouper,
    labelled_counts,
    load_labelled,
    load_uci,
    within_day_counts,
)

LABELLED_PRECISION_FLOOR = 0.95
LABELLED_RECALL_FLOOR = 0.55
UCI_DAY_PRECISION_FLOOR = 0.9
UCI_FILE = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "stories" / "uci-entertainment-2014-05-01_2014-06-14.tsv"
)


def test_labelled_set_precision_and_recall_floors() -> None:
    articles = load_labelled()
    counts = labelled_counts(articles, group_with_grouper(articles))
    assert counts.actual > 200  # the set still has its multi-article stories
    assert counts.precision >= LABELLED_PRECISION_FLOOR, counts
    assert counts.recall >= LABELLED_RECALL_FLOOR, counts


def test_labelled_set_is_well_formed() -> None:
    articles = load_labelled()
    stories = {a.truth for a in articles}
    assert len(articles) >= 150
    assert 30 <= len(stories) <= 45
    assert all(a.published.tzinfo is not None for a in articles)
    assert len({a.article_id for a in articles}) == len(articles)
    assert sum(1 for a in articles if a.summary) >= 140


def test_real_headlines_precision_floor_on_a_kardashian_heavy_day() -> None:
    if not UCI_FILE.is_file():
        pytest.skip(f"shared data not found at {UCI_FILE}")
    day = [a for a in load_uci(UCI_FILE) if a.published.date() == date(2014, 5, 28)]
    counts = within_day_counts(day, group_with_grouper(day), dont_care=WEDDING_IDS)
    assert counts.predicted > 1000  # the grouper did group something
    assert counts.precision >= UCI_DAY_PRECISION_FLOOR, counts
