"""Table-driven same/different story decisions: hand-labelled articles and invented pairs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.grouping import Article, load_labelled
from bot.stories import StoryFingerprint, fingerprint, same_story, similarity
from bot.stories.similarity import DEFAULT_THRESHOLDS, Thresholds, decide, judge, score

LABELLED: dict[str, Article] = {a.article_id: a for a in load_labelled()}
WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

# (first id, second id) from tests/data/stories_labelled.tsv; truth is the story column.
LABELLED_PAIRS = [
    ("L004", "L006"),  # divorce: TMZ vs Reuters
    ("L004", "L008"),  # divorce: same TMZ article re-fetched with utm_* and a new title
    ("L030", "L031"),  # Kourtney pregnancy: People vs TMZ
    ("L070", "L072"),  # Ticketmaster cancels Eras sale: CNN vs Reuters
    ("L045", "L050"),  # Beyonce Grammy record: CNN vs BBC
    ("L018", "L019"),  # Kanye becomes Ye: AP vs Complex
    ("L004", "L001"),  # Kim: divorce filing vs skincare launch (same day)
    ("L010", "L004"),  # Kanye album vs Kim's divorce
    ("L030", "L036"),  # Kourtney: pregnancy vs wedding (next day)
    ("L043", "L045"),  # Grammys night: Taylor's album announcement vs Beyonce's record
    ("L066", "L070"),  # two Taylor Swift stories the same day
    ("L060", "L058"),  # Beyonce: tour announcement vs Dubai fee, same day
    ("L062", "L060"),  # Beyonce: hair-care launch vs tour announcement, same day
    ("L026", "L010"),  # Kanye: Adidas drops him vs album release
    ("L079", "L085"),  # Will Smith: the slap vs resigning from the Academy 40 h later
    ("L128", "L136"),  # Musk: Twitter takeover closes vs rebrand to X
]


@pytest.mark.parametrize(("first", "second"), LABELLED_PAIRS)
def test_labelled_pair(first: str, second: str) -> None:
    a, b = LABELLED[first], LABELLED[second]
    expected = a.truth == b.truth
    assert same_story(a.fingerprint(), b.fingerprint()) is expected, (a.title, b.title)
    assert same_story(b.fingerprint(), a.fingerprint()) is expected  # symmetric


def test_labelled_pairs_cover_both_outcomes() -> None:
    outcomes = [LABELLED[x].truth == LABELLED[y].truth for x, y in LABELLED_PAIRS]
    assert outcomes.count(True) >= 5
    assert outcomes.count(False) >= 8


def _fp(title: str, summary: str = "", link: str | None = None) -> StoryFingerprint:
    return fingerprint(title, summary, link, WHEN)


INVENTED_PAIRS = [
    (
        "Kim Kardashian files for divorce from Kanye West",
        "KIM KARDASHIAN FILES FOR DIVORCE FROM KANYE WEST!",
        True,
    ),
    (
        "Beyoncé announces Renaissance world tour",
        "Beyonce announces Renaissance world tour dates",
        True,
    ),
    (
        "Paul McCartney cancels Japan tour after virus",
        "McCartney cancels Japan shows over virus",
        True,
    ),
    ("Spotify to cut 1,500 jobs", "Spotify cuts 1,500 jobs in third round of layoffs", True),
    (
        "Taylor Swift wins album of the year at the Grammys",
        "Beyonce wins album of the year at the Grammys",
        False,
    ),
    ("Kim Kardashian launches new fragrance", "Kim Kardashian files for divorce", False),
    (
        "Kourtney Kardashian pregnant with third child",
        "Kim Kardashian pregnant with third child",
        False,
    ),
    ("Earthquake kills hundreds in Turkey", "Earthquake kills hundreds in Morocco", False),
    # Identical boilerplate headlines with no event word are not a story.
    ("Perez Recommends", "Perez Recommends", False),
]


@pytest.mark.parametrize(("title_a", "title_b", "expected"), INVENTED_PAIRS)
def test_invented_pair(title_a: str, title_b: str, expected: bool) -> None:
    assert same_story(_fp(title_a), _fp(title_b)) is expected


def test_shared_canonical_link_is_always_same_story() -> None:
    a = _fp("Totally unrelated words", link="https://www.example.com/a/story?utm_source=rss")
    b = _fp("Another headline entirely", link="http://example.com/a/story/#comments")
    assert same_story(a, b)
    assert similarity(a, b) == 1.0


def test_home_page_links_do_not_merge() -> None:
    a = _fp("Kim Kardashian launches perfume", link="https://www.example.com/")
    b = _fp("Taylor Swift tour dates", link="https://example.com")
    assert not same_story(a, b)


def test_similarity_is_symmetric_and_bounded() -> None:
    for first, second in LABELLED_PAIRS:
        a, b = LABELLED[first].fingerprint(), LABELLED[second].fingerprint()
        value = similarity(a, b)
        assert 0.0 <= value <= 1.0
        assert value == similarity(b, a)


@pytest.mark.parametrize(
    "thresholds",
    [DEFAULT_THRESHOLDS, Thresholds(name_conflict=False), Thresholds(title=0.3, full=0.15, min_event_tokens=0)],
)
def test_judge_agrees_with_score_and_decide_on_every_labelled_pair(thresholds: Thresholds) -> None:
    prints = [article.fingerprint() for article in LABELLED.values()]
    accepted = 0
    for a in prints:
        for b in prints:
            pair = score(a, b, thresholds)
            assert judge(a, b, thresholds) == (decide(pair, thresholds), pair.best)
            accepted += decide(pair, thresholds)
    assert 0 < accepted < len(prints) ** 2  # both outcomes were exercised
