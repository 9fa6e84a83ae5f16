"""TokenIndex: reference-counted postings and the per-story ScanCount."""

from __future__ import annotations

from collections import Counter

from bot.stories.index import TokenIndex


def _index() -> TokenIndex:
    index = TokenIndex()
    index.add("s1", {"divorc", "kardashian", "kim"})
    index.add("s1", {"divorc", "kany"})  # a second representative of s1
    index.add("s2", {"kardashian", "fragranc"})
    index.add("s3", {"divorc", "tour"})
    return index


def test_holding_any_unions_the_postings() -> None:
    index = _index()
    assert index.holding_any({"divorc"}) == {"s1", "s3"}
    assert index.holding_any({"fragranc", "tour", "unknown"}) == {"s2", "s3"}
    assert index.holding_any(set()) == set()


def test_shared_counts_counts_each_token_once_per_story_among_the_given() -> None:
    index = _index()
    among = {"s1", "s2"}
    # s1 holds "divorc" through two representatives: still one shared token.
    assert index.shared_counts({"divorc", "kardashian", "kany"}, among) == Counter({"s1": 3, "s2": 1})
    assert index.shared_counts({"tour"}, among) == Counter()


def test_shared_counts_takes_postings_within_among_whole() -> None:
    index = _index()
    among = index.holding_any({"divorc"})
    cut = index.shared_counts({"divorc", "kardashian"}, among)
    whole = index.shared_counts({"divorc", "kardashian"}, among, within={"divorc"})
    assert cut == whole == Counter({"s1": 2, "s3": 1})


def test_remove_undoes_one_representative_and_drop_forgets_the_story() -> None:
    index = _index()
    index.remove("s1", {"divorc", "kany"})
    assert index.holding_any({"kany"}) == set()
    assert index.holding_any({"divorc"}) == {"s1", "s3"}  # the first representative holds it too
    index.drop("s1")
    assert index.holding_any({"divorc", "kim"}) == {"s3"}
    assert len(index) == 2
