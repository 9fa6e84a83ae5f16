"""FollowIndex: bookkeeping, deduplication and that it only looks at anchored candidates."""

import pytest

from bot.query.document import MatchDoc
from bot.query.index import FollowIndex
from bot.query.parser import parse_query


def doc(title: str, summary: str = "") -> MatchDoc:
    return MatchDoc.from_article(title, summary)


def test_add_remove_len_contains() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query("kim kanye"))
    index.add(2, parse_query("kylie"))
    assert len(index) == 2
    assert 1 in index
    assert 3 not in index
    assert index.match(doc("Kim, Kanye and Kylie")) == {1, 2}
    index.remove(1)
    assert 1 not in index
    assert len(index) == 1
    assert index.match(doc("Kim, Kanye and Kylie")) == {2}
    with pytest.raises(KeyError):
        index.remove(1)


def test_adding_a_present_key_moves_it_to_the_new_query() -> None:
    index: FollowIndex[str] = FollowIndex()
    index.add("a", parse_query("kim"))
    index.add("a", parse_query("kanye"))
    assert len(index) == 1
    assert index.distinct_queries == 1
    assert index.match(doc("Kim")) == set()
    assert index.match(doc("Kanye")) == {"a"}


def test_keys_sharing_a_query_cost_one_verification() -> None:
    index: FollowIndex[tuple[int, int]] = FollowIndex()
    for member in range(1000):
        text = "kim kanye -kyl*" if member % 2 else "-kyl* Kanye  KIM"
        index.add((42, member), parse_query(text))
    article = doc("Kim Kardashian and Kanye West")
    assert index.distinct_queries == 1
    assert index.candidate_count(article) == 1
    assert index.match(article) == {(42, member) for member in range(1000)}
    for member in range(999):
        index.remove((42, member))
    assert index.match(article) == {(42, 999)}
    index.remove((42, 999))
    assert index.distinct_queries == 0
    assert index.candidate_count(article) == 0
    assert index.match(article) == set()


def test_follows_are_filed_under_their_rarest_word_then_a_second_one() -> None:
    # "kim" is common, every "topicN" is rare: an article about Kim alone must not
    # reach any of the 10,000 follows, one about topic17 without Kim reaches none
    # either (second key), and one with both reaches exactly one.
    index: FollowIndex[int] = FollowIndex(term_frequency={"kim": 5000})
    for n in range(10_000):
        index.add(n, parse_query(f"kim topic{n} -kyl*"))
    assert index.candidate_count(doc("Kim Kardashian in Paris")) == 0
    assert index.candidate_count(doc("topic17 without her")) == 0
    assert index.candidate_count(doc("Kim and topic17")) == 1
    assert index.match(doc("Kim and topic17")) == {17}
    assert index.match(doc("Kim, Kylie and topic17")) == set()


def test_second_keys_are_found_from_short_and_long_articles() -> None:
    # Short article: fewer words than second keys filed under "kim"; long article: more.
    index: FollowIndex[int] = FollowIndex(term_frequency={"kim": 5000})
    for n in range(300):
        index.add(n, parse_query(f'kim "topic {n}"' if n % 2 else f"kim topic{n}"))
    assert index.match(doc("Kim topic4")) == {4}
    assert index.match(doc("Kim: topic 5")) == {5}
    long_title = "Kim " + " ".join(f"topic{n}" for n in range(0, 300, 4)) + " topic 7"
    assert index.match(doc(long_title)) == {*range(0, 300, 4), 7}


def test_without_frequencies_longer_words_count_as_rarer() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query("ye kardashian -kyl*"))
    assert index.candidate_count(doc("Ye")) == 0
    assert index.candidate_count(doc("Kardashian")) == 0  # filed under it, then under ye
    assert index.candidate_count(doc("Kardashian and Ye")) == 1


def test_observed_articles_change_later_anchor_choices() -> None:
    unseen: FollowIndex[int] = FollowIndex()
    observed: FollowIndex[int] = FollowIndex()
    for n in range(50):
        observed.observe(doc(f"Kardashian news {n}"))
    query = parse_query("kim* OR ye kardashian")  # kim* can't be a second key
    unseen.add(1, query)
    observed.add(1, query)
    kardashian_only = doc("Kardashian news")
    assert unseen.candidate_count(kardashian_only) == 1  # filed under the longer word
    assert observed.candidate_count(kardashian_only) == 0  # "kardashian" is now common
    assert unseen.match(kardashian_only) == observed.match(kardashian_only) == set()


def test_or_groups_file_every_alternative() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query("kanye OR ye"))
    index.add(2, parse_query("kanye OR ye -kim*"))
    assert index.match(doc("Ye returns")) == {1, 2}
    assert index.match(doc("Kanye returns")) == {1, 2}
    assert index.match(doc("Kanye returns to Kimberly")) == {1}
    assert index.match(doc("Kim returns")) == set()
    # follow 1 is proven by its anchor alone; follow 2 is found twice, verified once
    assert index.candidate_count(doc("Kanye and Ye")) == 1


def test_two_word_phrase_is_filed_under_its_word_pair() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query('"kris jenner"'))
    assert index.candidate_count(doc("Jenner, Kris")) == 0  # the pair itself is the proof
    assert index.match(doc("Jenner, Kris")) == set()
    assert index.match(doc("Kris Jenner speaks")) == {1}
    assert index.match(doc("Kris", summary="Jenner speaks")) == set()


def test_longer_phrase_is_filed_under_its_rarest_pair_and_verified() -> None:
    frequencies = {"kris jenner": 50, "jenner says": 2, "kris": 100, "jenner": 60, "says": 900}
    index: FollowIndex[int] = FollowIndex(term_frequency=frequencies)
    index.add(1, parse_query('"kris jenner says"'))
    assert index.candidate_count(doc("Kris Jenner speaks")) == 0
    assert index.candidate_count(doc("Jenner says Kris")) == 1
    assert index.match(doc("Jenner says Kris")) == set()
    assert index.match(doc("Kris Jenner says no")) == {1}


def test_prefix_follows_are_found_through_the_article_words() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query("divorc*"))
    index.add(2, parse_query("kim divorc*"))
    index.add(3, parse_query("kardashian*"))
    assert index.match(doc("Kim divorcing")) == {1, 2}
    assert index.match(doc("The Kardashians' divorce")) == {1, 3}
    assert index.match(doc("Divine")) == set()
    for key in (1, 2, 3):
        index.remove(key)
    assert index.candidate_count(doc("Kim divorcing Kardashians")) == 0


def test_exclusions_are_checked_on_candidates() -> None:
    index: FollowIndex[int] = FollowIndex()
    index.add(1, parse_query('kim -"kris jenner" -kylie'))  # both excluded terms are keys
    index.add(2, parse_query('kim -"kris jenner says" -kyl*'))  # both need a check
    assert index.candidate_count(doc("Kim")) == 1
    assert index.match(doc("Kim and Kylie")) == set()
    assert index.match(doc("Kim", summary="Kris Jenner says")) == set()
    assert index.match(doc("Kim", summary="Kris Jenner speaks")) == {2}
    assert index.match(doc("Kim", summary="Jenner, Kris says")) == {1, 2}
    assert index.match(doc("Kim", summary="Kylian")) == {1}


def test_a_vetoed_key_leaves_the_other_matches_alone() -> None:
    # many matches, few vetoed, and few matches, many vetoed: both ways of subtracting
    index: FollowIndex[int] = FollowIndex()
    for n in range(200):
        index.add(n, parse_query("kim -kylie" if n < 10 else "kim"))
    for n in range(200, 400):
        index.add(n, parse_query("kanye -kylie"))
    assert index.match(doc("Kim")) == set(range(200))
    assert index.match(doc("Kim and Kylie")) == set(range(10, 200))
    assert index.match(doc("Kanye and Kylie")) == set()
    assert index.match(doc("Kanye")) == set(range(200, 400))
    for n in range(200, 400):
        index.remove(n)
    assert index.match(doc("Kanye")) == set()
