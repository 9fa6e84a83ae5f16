"""/follow's suggestions: names in the open stories, heaviest first, matched as typed."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.follow_suggestions import Suggestion, SuggestionCache, names_by_weight, rank, suggest
from bot.stories.fingerprint import fingerprint
from bot.stories.open_story import OpenStory

NOW = datetime(2014, 5, 25, 12, tzinfo=UTC)


def story(story_id: str, articles: int, *headlines: str) -> OpenStory:
    reps = tuple(fingerprint(headline, "", None, NOW) for headline in headlines)
    return OpenStory(story_id, reps, NOW, articles)


STORIES = [
    story("wedding", 40, "Kim Kardashian and Kanye West marry in Florence", "Kanye West weds Kim Kardashian"),
    story("tour", 12, "Beyoncé and Jay-Z announce On the Run tour"),
    story("diet", 3, "Khloe Kardashian shares her diet secrets"),
]


def test_names_weigh_the_articles_of_every_story_that_names_them_once_a_story() -> None:
    weights = names_by_weight(STORIES)

    # Named by both of the wedding's representatives, counted once for the story.
    assert weights["kim kardashian"] == 40 and weights["kanye west"] == 40
    assert weights["beyonce"] == 12  # a headline's subject counts as a name
    assert weights["khloe kardashian"] == 3


def test_every_typed_word_begins_a_word_of_the_name_and_the_heaviest_come_first() -> None:
    weights = names_by_weight(STORIES)
    ranked = rank(weights)

    assert [s.query for s in suggest(ranked, "kard")] == ["kim kardashian", "khloe kardashian"]
    assert suggest(ranked, "Kim K") == [Suggestion("kim kardashian", 40)]
    assert suggest(ranked, '"kim k*') == [Suggestion("kim kardashian", 40)]  # query marks ignored
    assert [s.query for s in suggest(ranked, "BEYONCÉ")] == ["beyonce"]  # folded like the matcher
    assert suggest(ranked, "ardashian") == []  # a word's start, not any part of it
    heaviest = suggest(ranked, "", limit=2)
    assert [s.articles for s in heaviest] == [40, 40] and len(suggest(ranked, "")) == len(weights)


def test_the_cache_keeps_a_servers_names_for_a_while_and_so_many_servers() -> None:
    now = [0.0]
    cache = SuggestionCache(seconds=60, servers=2, clock=lambda: now[0])
    cache.put(1, rank(names_by_weight(STORIES)))
    cache.put(2, rank(names_by_weight(STORIES[:1])))
    assert cache.get(1) is not None  # server 1 is now the most recently used
    cache.put(3, rank(names_by_weight(STORIES[1:])))

    assert cache.get(2) is None and cache.get(1) is not None and cache.get(3) is not None
    now[0] = 61.0
    assert cache.get(1) is None


def test_only_the_heaviest_names_are_kept_and_a_title_cased_headline_is_no_name() -> None:
    # Title case makes the whole headline one name-like run.
    headline = story("mccartney", 9, "Paul McCartney Cancels Tour Dates After Being Hospitalized")
    assert headline.representatives[0].subject == "paul mccartney cancels tour dates after being hospitalized"
    weights = names_by_weight([*STORIES, headline])

    assert not [name for name in weights if len(name.split()) > 4]
    # The heaviest, ties alphabetically; the lighter names are not kept.
    assert [name for name, _words, _weight in rank(weights, keep=4)] == [
        "florence",
        "kanye west",
        "kim kardashian",
        "beyonce",
    ]
