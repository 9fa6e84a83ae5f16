"""StoryGrouper: window, links, rebuild from snapshots, index completeness, bounds."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.grouping import Article, load_labelled, load_uci
from bot.stories import OpenStory, StoryAssignment, StoryFingerprint, StoryGrouper, fingerprint
from bot.stories.similarity import DEFAULT_THRESHOLDS, Thresholds, same_story, similarity

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DIVORCE = "Kim Kardashian files for divorce from Kanye West"
DIVORCE_SUMMARY = "The reality star filed papers in Los Angeles, citing irreconcilable differences."
UCI_FILE = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "stories" / "uci-entertainment-2014-05-01_2014-06-14.tsv"
)


def _fp(title: str, at: datetime, summary: str = "", link: str | None = None) -> StoryFingerprint:
    return fingerprint(title, summary, link, at)


def _run(grouper: StoryGrouper, items: Sequence[tuple[Hashable, StoryFingerprint]]) -> list[StoryAssignment]:
    return [grouper.assign(article_id, fp) for article_id, fp in items]


def _unique_title(i: int) -> str:
    """A headline sharing no token with any other ``_unique_title``."""
    tag = "".join(chr(ord("a") + int(d)) for d in f"{i:04d}")
    return f"Zq{tag} quux{tag}"


Items = list[tuple[Hashable, StoryFingerprint]]


@pytest.fixture(scope="module")
def labelled_items() -> Items:
    return [(a.article_id, a.fingerprint()) for a in load_labelled()]


@pytest.fixture(scope="module")
def uci_kk_items() -> Items:
    """Kardashian/Kanye headlines from the shared UCI file (many same-name stories)."""
    if not UCI_FILE.is_file():
        pytest.skip(f"shared data not found at {UCI_FILE}")
    pattern = re.compile(r"kardashian|kanye", re.IGNORECASE)
    rows: list[Article] = [a for a in load_uci(UCI_FILE) if pattern.search(a.title)]
    return [(a.article_id, a.fingerprint()) for a in rows[:800]]


# -- window ----------------------------------------------------------------------


def test_article_within_window_joins_the_story() -> None:
    grouper = StoryGrouper()
    first = grouper.assign("a1", _fp(DIVORCE, T0))
    later = grouper.assign("a2", _fp(DIVORCE, T0 + timedelta(hours=47)))
    assert first.is_new
    assert not later.is_new
    assert later.story_id == first.story_id == "a1"
    assert later.similarity == 1.0


def test_article_49h_after_the_last_one_starts_a_new_story() -> None:
    grouper = StoryGrouper()
    first = grouper.assign("a1", _fp(DIVORCE, T0))
    grouper.assign("a2", _fp(DIVORCE, T0 + timedelta(hours=40)))  # last article: T0+40h
    late = grouper.assign("a3", _fp(DIVORCE, T0 + timedelta(hours=40 + 49)))
    assert late.is_new
    assert late.story_id != first.story_id
    # the window counts from the story's LAST article, so T0+40h kept it open at T0+80h
    assert grouper.get(first.story_id) is None  # evicted once the clock passed it


def test_window_is_configurable() -> None:
    grouper = StoryGrouper(window=timedelta(hours=2))
    grouper.assign("a1", _fp(DIVORCE, T0))
    assert grouper.assign("a2", _fp(DIVORCE, T0 + timedelta(hours=3))).is_new


def test_out_of_order_article_inside_the_story_span_joins() -> None:
    grouper = StoryGrouper()
    grouper.assign("a1", _fp(DIVORCE, T0))
    grouper.assign("a2", _fp(DIVORCE, T0 + timedelta(hours=30)))
    early = grouper.assign("a3", _fp(DIVORCE, T0 + timedelta(hours=5)))
    assert not early.is_new
    assert grouper.get("a1") is not None
    assert grouper.get("a1").last_seen == T0 + timedelta(hours=30)  # type: ignore[union-attr]


def test_late_arriving_article_older_than_the_window_starts_a_new_story() -> None:
    grouper = StoryGrouper()
    grouper.assign("a1", _fp(DIVORCE, T0 + timedelta(hours=60)))
    stale = grouper.assign("a2", _fp(DIVORCE, T0))  # fetched late, published 60 h earlier
    assert stale.is_new


# -- links -----------------------------------------------------------------------


def test_canonical_link_match_groups_unrelated_titles() -> None:
    grouper = StoryGrouper()
    first = grouper.assign("a1", _fp("Headline one", T0, link="https://www.site.example/news/123?utm_source=rss"))
    again = grouper.assign(
        "a2",
        _fp(
            "Completely rewritten headline",
            T0 + timedelta(hours=3),
            link="http://site.example/news/123/",
        ),
    )
    assert not again.is_new
    assert again.story_id == first.story_id
    assert again.similarity == 1.0


def test_link_of_a_closed_story_does_not_reopen_it() -> None:
    grouper = StoryGrouper()
    grouper.assign("a1", _fp("Headline one", T0, link="https://site.example/x"))
    late = grouper.assign("a2", _fp("Headline two", T0 + timedelta(hours=50), link="https://site.example/x"))
    assert late.is_new


# -- rebuild from the DB -----------------------------------------------------------


def _assert_rebuild_matches(items: Sequence[tuple[Hashable, StoryFingerprint]]) -> None:
    half = len(items) // 2
    original = StoryGrouper()
    _run(original, items[:half])
    # What the DB would hold: the open stories, serialized.
    stored = [story.to_json() for story in original.open_stories()]
    rebuilt = StoryGrouper()
    rebuilt.load(OpenStory.from_json(data) for data in stored)
    assert rebuilt.open_stories() == original.open_stories()
    assert _run(rebuilt, items[half:]) == _run(original, items[half:])


def test_rebuild_via_load_gives_the_same_assignments_labelled(labelled_items: Items) -> None:
    _assert_rebuild_matches(labelled_items)


def test_rebuild_via_load_gives_the_same_assignments_uci(uci_kk_items: Items) -> None:
    _assert_rebuild_matches(uci_kk_items)


def test_load_replaces_a_story_with_the_same_id() -> None:
    grouper = StoryGrouper()
    grouper.assign("a1", _fp(DIVORCE, T0))
    snapshot = grouper.open_stories()
    grouper.load(snapshot)
    grouper.load(snapshot)
    assert len(grouper) == 1
    assert not grouper.assign("a2", _fp(DIVORCE, T0 + timedelta(hours=1))).is_new


def _indexes(grouper: StoryGrouper) -> list[object]:
    """The grouper's lookup state (white box: what a replace must leave as a fresh load)."""
    indexes = (grouper._index, grouper._title_index, grouper._event_index)
    return [*((index._postings, index._story_tokens) for index in indexes), grouper._links]


def test_loading_newer_states_over_older_ones_indexes_as_a_fresh_load(uci_kk_items: Items) -> None:
    """What another worker's save does (``StoryBook.take_in``): the grown stories replace
    their older states in place, re-indexing only what changed."""
    quarter = len(uci_kk_items) // 4
    worker = StoryGrouper()
    _run(worker, uci_kk_items[:quarter])
    older = worker.open_stories()
    _run(worker, uci_kk_items[quarter : 2 * quarter])
    newer = worker.open_stories()
    assert any(story not in older for story in newer)  # stories grew and rotated representatives

    updated, fresh = StoryGrouper(), StoryGrouper()
    updated.load(older)
    updated.load(newer)
    fresh.load(newer)

    assert updated.open_stories() == fresh.open_stories()
    assert _indexes(updated) == _indexes(fresh)
    assert _run(updated, uci_kk_items[2 * quarter :]) == _run(fresh, uci_kk_items[2 * quarter :])


def test_open_story_json_round_trip(labelled_items: Items) -> None:
    grouper = StoryGrouper()
    _run(grouper, labelled_items[:40])
    for story in grouper.open_stories():
        assert OpenStory.from_json(story.to_json()) == story


@pytest.mark.parametrize(
    "data",
    [
        "",
        "{}",
        "[]",
        "not json",
        '{"id": "x", "reps": "nope"}',
        '{"id": "x", "reps": [], "last": "2024-03-01T12:00:00+00:00", "count": 1, "links": []}',
    ],
)
def test_open_story_from_bad_json_raises_value_error(data: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|format|expected|representative"):
        OpenStory.from_json(data)


# -- the candidate index misses nothing ----------------------------------------------


def _assert_index_matches_exhaustive(
    items: Sequence[tuple[Hashable, StoryFingerprint]], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> None:
    indexed = _run(StoryGrouper(thresholds=thresholds), items)
    exhaustive = _run(StoryGrouper(thresholds=thresholds, exhaustive=True), items)
    for got, want in zip(indexed, exhaustive, strict=True):
        assert (got.story_id, got.is_new) == (want.story_id, want.is_new)
        if not got.is_new:
            assert got.similarity == want.similarity


def test_index_matches_exhaustive_scan_on_labelled_set(labelled_items: Items) -> None:
    _assert_index_matches_exhaustive(labelled_items)


def test_index_matches_exhaustive_scan_without_the_event_word_rule(uci_kk_items: Items) -> None:
    """Tuning sweeps may drop the title rule's event word; the index must then not rely on it."""
    _assert_index_matches_exhaustive(uci_kk_items[:400], replace(DEFAULT_THRESHOLDS, min_event_tokens=0))


def test_index_matches_exhaustive_scan_on_real_headlines(uci_kk_items: Items) -> None:
    _assert_index_matches_exhaustive(uci_kk_items[:600])


_VOCABULARY = [
    "Kim",
    "Kardashian",
    "Kanye",
    "West",
    "Kourtney",
    "Taylor",
    "Swift",
    "Beyonce",
    "divorce",
    "files",
    "pregnant",
    "wedding",
    "tour",
    "album",
    "launches",
    "fragrance",
    "wins",
    "Grammy",
    "record",
    "Paris",
    "baby",
    "third",
    "child",
    "cancels",
]
_words = st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=7).map(" ".join)
_article = st.tuples(
    _words,
    st.one_of(st.just(""), _words),
    st.one_of(st.none(), st.sampled_from(["https://a.example/1", "https://b.example/2?utm_x=1"])),
    st.integers(min_value=0, max_value=120),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_article, min_size=1, max_size=40))
def test_index_matches_exhaustive_scan_on_random_articles(
    articles: list[tuple[str, str, str | None, int]],
) -> None:
    items = [
        (f"r{i}", fingerprint(title, summary, link, T0 + timedelta(hours=hours)))
        for i, (title, summary, link, hours) in enumerate(articles)
    ]
    _assert_index_matches_exhaustive(items)


def _assert_one_story_joins_as_the_pair_decides(items: Sequence[tuple[Hashable, StoryFingerprint]]) -> int:
    """Each article against a story of one other article: joined exactly when the pair
    decision says so, at its similarity. The index and the grouper's per-representative
    filters (shared-word counts, set sizes) may skip work, never a pair ``same_story``
    accepts; the exhaustive scan above shares those filters, so it cannot show this."""
    prints = [replace(fp, published=T0) for _id, fp in items]  # all inside one window
    joined = 0
    for i, first in enumerate(prints):
        for second in prints[i + 1 :]:
            grouper = StoryGrouper()
            grouper.assign("first", first)
            got = grouper.assign("second", second)
            assert (not got.is_new) == same_story(first, second)
            if not got.is_new:
                joined += 1
                assert got.similarity == similarity(first, second)
    return joined


def test_one_story_joins_as_the_pair_decides_on_labelled_set(labelled_items: Items) -> None:
    assert _assert_one_story_joins_as_the_pair_decides(labelled_items) > 0


def test_one_story_joins_as_the_pair_decides_on_real_headlines(uci_kk_items: Items) -> None:
    assert _assert_one_story_joins_as_the_pair_decides(uci_kk_items[:160]) > 0


# -- bounds and ids -----------------------------------------------------------------


def test_expired_stories_are_evicted() -> None:
    grouper = StoryGrouper(window=timedelta(hours=1))
    for i in range(50):
        grouper.assign(f"a{i}", _fp(_unique_title(i), T0 + timedelta(hours=2 * i)))
    assert len(grouper) == 1


def test_open_stories_are_capped() -> None:
    grouper = StoryGrouper(max_open_stories=10)
    for i in range(30):
        grouper.assign(f"a{i}", _fp(_unique_title(i), T0 + timedelta(minutes=i)))
    assert len(grouper) == 10
    kept = {story.story_id for story in grouper.open_stories()}
    assert kept == {f"a{i}" for i in range(20, 30)}  # least recently updated go first


def test_representatives_are_bounded() -> None:
    grouper = StoryGrouper()
    for i in range(30):
        grouper.assign(f"a{i}", _fp(DIVORCE, T0 + timedelta(minutes=i)))
    (story,) = grouper.open_stories()
    assert story.article_count == 30
    assert len(story.representatives) <= 6
    assert story.representatives[0].published == T0  # the first article is kept


def test_story_ids_stay_unique() -> None:
    grouper = StoryGrouper(make_story_id=lambda _article: "same")
    ids = [grouper.assign(i, _fp(_unique_title(i), T0)).story_id for i in range(3)]
    assert ids == ["same", "same#2", "same#3"]


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="window"):
        StoryGrouper(window=timedelta(0))
    with pytest.raises(ValueError, match="max_open_stories"):
        StoryGrouper(max_open_stories=0)


def _opened_elsewhere(title: str, at: datetime, story_id: str) -> OpenStory:
    """A story another grouper (another worker) opened with one article."""
    other = StoryGrouper(make_story_id=lambda _key: story_id)
    other.assign("elsewhere", _fp(title, at, link=f"https://elsewhere.test/{story_id}"))
    story = other.get(story_id)
    assert story is not None
    return story


def test_a_story_folds_into_the_one_another_grouper_opened_for_the_same_news() -> None:
    grouper = StoryGrouper()
    mine = grouper.assign("mine", _fp("Kim Kardashian wedding date set for May", T0, link="https://a.test/1"))
    theirs = _opened_elsewhere("Kim Kardashian wedding date set", T0 - timedelta(minutes=1), "theirs")
    grouper.load([theirs])

    assert grouper.fold(mine.story_id, into=["theirs"]) == "theirs"

    assert grouper.get(mine.story_id) is None
    folded = grouper.get("theirs")
    assert folded is not None and folded.article_count == 2
    assert set(folded.links) == {"a.test/1", "elsewhere.test/theirs"}
    later = grouper.assign("later", _fp("Kim Kardashian wedding date set for May in Italy", T0 + timedelta(minutes=2)))
    assert later.story_id == "theirs"
    assert len(grouper) == 1


def test_a_story_does_not_fold_into_other_news_or_outside_the_targets() -> None:
    grouper = StoryGrouper()
    mine = grouper.assign("mine", _fp("Kim Kardashian wedding date set for May", T0))
    grouper.load(
        [
            _opened_elsewhere("Kim Kardashian wedding date set", T0, "same-news"),
            _opened_elsewhere("Oscars host named", T0, "other-news"),
        ]
    )
    assert grouper.fold(mine.story_id, into=["other-news"]) is None
    assert grouper.fold(mine.story_id, into=[mine.story_id]) is None
    assert grouper.fold(mine.story_id, into=[]) is None
    kept = grouper.get(mine.story_id)
    assert kept is not None and kept.article_count == 1
    assert grouper.fold("no-such-story", into=["same-news"]) is None
    assert len(grouper) == 3


def test_a_story_folds_by_its_first_article_only() -> None:
    """A later article another story would also accept is no reason to fold: one grouper
    seeing both stories would have kept them apart too."""
    grouper = StoryGrouper()
    first = _fp("Oscars host named", T0)
    later = _fp("Kim Kardashian wedding date set for May", T0 + timedelta(minutes=1))
    grouper.load([OpenStory("mine", (first, later), later.published, 2)])
    grouper.load([_opened_elsewhere("Kim Kardashian wedding date set", T0, "theirs")])

    assert grouper.fold("mine", into=["theirs"]) is None
    assert len(grouper) == 2
