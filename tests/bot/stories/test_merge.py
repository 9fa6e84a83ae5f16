"""merge_stories: two workers' states of one story, made one without losing either side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.stories import OpenStory, StoryFingerprint, StoryGrouper, fingerprint
from bot.stories.merge import fold_story, merge_stories
from bot.stories.open_story import MAX_LINKS, MAX_REPRESENTATIVES

T0 = datetime(2014, 5, 24, 12, 0, tzinfo=UTC)
WEDDING = "Kim Kardashian and Kanye West wedding in Florence"


def _fp(minutes: int, link: str) -> StoryFingerprint:
    return fingerprint(f"{WEDDING} update {minutes}", "", link, T0 + timedelta(minutes=minutes))


def _story(reps: list[StoryFingerprint], count: int, links: tuple[str, ...] | None = None) -> OpenStory:
    return OpenStory(
        story_id="s1",
        representatives=tuple(reps),
        last_seen=max(rep.published for rep in reps),
        article_count=count,
        links=links if links is not None else tuple(rep.link for rep in reps if rep.link),
    )


def test_each_side_keeps_what_only_it_saw() -> None:
    first = _fp(0, "https://a.test/0")
    mine = _story([first, _fp(5, "https://a.test/5")], 2)
    theirs = _story([first, _fp(7, "https://b.test/7")], 2)

    merged = merge_stories(mine, theirs)

    assert merged.representatives == (first, mine.representatives[1], theirs.representatives[1])
    assert set(merged.links) == {"a.test/0", "a.test/5", "b.test/7"}  # canonical links
    assert merged.last_seen == T0 + timedelta(minutes=7)
    assert merged.article_count == 2  # how many both saw is unknown: never more than either counted


def test_the_earlier_first_article_leads_whichever_side_has_it() -> None:
    early, late = _fp(0, "https://a.test/0"), _fp(3, "https://b.test/3")
    # Both workers opened the story from the same article key, the other side first.
    merged = merge_stories(_story([late], 1), _story([early], 1))
    assert merged.representatives == (early, late)
    swapped = merge_stories(_story([early], 1), _story([late], 1))
    assert swapped.representatives == merged.representatives and set(swapped.links) == set(merged.links)


def test_representatives_and_links_stay_capped() -> None:
    first = _fp(0, "https://a.test/0")
    mine = _story([first, *(_fp(m, f"https://a.test/{m}") for m in range(1, 6))], 40)
    theirs_reps = [first, *(_fp(m, f"https://b.test/{m}") for m in range(10, 15))]
    older = tuple(f"b.test/old{n}" for n in range(MAX_LINKS))  # links of articles no longer representatives
    theirs = _story(theirs_reps, 45, links=(*older, *(rep.link for rep in theirs_reps if rep.link)))

    merged = merge_stories(mine, theirs)

    assert len(merged.representatives) == MAX_REPRESENTATIVES
    assert merged.representatives[0] == first
    assert [rep.published for rep in merged.representatives[1:]] == [T0 + timedelta(minutes=m) for m in range(10, 15)]
    assert len(merged.links) == MAX_LINKS
    assert {rep.link for rep in merged.representatives} <= set(merged.links)
    assert merged.article_count == 45


def test_the_merged_story_still_takes_its_coverage() -> None:
    """A grouper loaded with the merge finds the story through either side's articles."""
    first = _fp(0, "https://a.test/0")
    mine = _story([first, _fp(5, "https://a.test/5")], 2)
    theirs = _story([first, _fp(7, "https://b.test/7")], 2)
    grouper = StoryGrouper()
    grouper.load([merge_stories(mine, theirs)])

    again = fingerprint("Something else entirely", "", "https://b.test/7", T0 + timedelta(minutes=9))
    assignment = grouper.assign("b:again", again)

    assert (assignment.story_id, assignment.is_new) == ("s1", False)  # theirs' link, known here now


def test_two_different_stories_are_not_merged() -> None:
    other = OpenStory(story_id="s2", representatives=(_fp(0, "https://c.test/"),), last_seen=T0, article_count=1)
    with pytest.raises(ValueError, match="cannot merge"):
        merge_stories(_story([_fp(0, "https://a.test/0")], 1), other)


def test_a_folded_story_adds_its_articles_to_the_target() -> None:
    early, late = _fp(0, "https://a.test/0"), _fp(3, "https://b.test/3")
    target = _story([late], 4)
    other = OpenStory(
        story_id="s2", representatives=(early,), last_seen=early.published, article_count=2, links=("a.test/0",)
    )

    folded = fold_story(target, other)

    assert folded.story_id == "s1"
    assert folded.article_count == 6  # an article is in one story only: the two add up
    assert folded.representatives == (early, late)  # the earlier first article leads
    assert set(folded.links) == {"a.test/0", "b.test/3"}
    with pytest.raises(ValueError, match="into itself"):
        fold_story(target, target)
