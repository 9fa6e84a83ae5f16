"""Two states of open stories made one.

Workers sharing a database each group in memory and save the stories they touch; a worker
takes in what the others saved (``bot.story_book.StoryBook.sync``).

- ``merge_stories``: both workers grew the same story meanwhile. Neither state holds all
  its articles, and replacing one's with the other's would forget the representatives and
  links only it had seen.
- ``fold_story``: two workers each opened a story for the same news before either saw the
  other's (``bot.story_book.StoryBook.fold_new``); the one saved later goes into the other.
"""

from __future__ import annotations

from bot.stories.fingerprint import StoryFingerprint
from bot.stories.open_story import MAX_REPRESENTATIVES, OpenStory, capped_links


def _order(rep: StoryFingerprint) -> tuple[object, ...]:
    # A total order: two workers merging the same two states keep the same representatives.
    return (rep.published, rep.title_tokens, rep.body_tokens, rep.link or "")


def merge_stories(mine: OpenStory, theirs: OpenStory) -> OpenStory:
    """Both states of one story in one: the earlier first article, the most recent of
    both sides' other representatives, the links of both (capped as the grouper caps
    them, keeping the representatives'), the later ``last_seen``. How many articles the
    two saw in common is not known, so the count is the larger of the two."""
    if mine.story_id != theirs.story_id:
        raise ValueError(f"cannot merge story {mine.story_id} with story {theirs.story_id}")
    return _combined(mine, theirs, article_count=max(mine.article_count, theirs.article_count))


def fold_story(target: OpenStory, other: OpenStory) -> OpenStory:
    """``other``, a story found to be ``target``'s news, in ``target``: its id, the
    representatives and links of both as ``merge_stories`` keeps them, and the articles
    of both counted (two stories never share an article: each article has one story)."""
    if target.story_id == other.story_id:
        raise ValueError(f"cannot fold story {other.story_id} into itself")
    return _combined(target, other, article_count=target.article_count + other.article_count)


def _combined(mine: OpenStory, theirs: OpenStory, *, article_count: int) -> OpenStory:
    first = min(mine.representatives[0], theirs.representatives[0], key=_order)
    others = dict.fromkeys(rep for rep in (*mine.representatives, *theirs.representatives) if rep != first)
    recent = sorted(others, key=_order)[-(MAX_REPRESENTATIVES - 1) :]
    representatives = (first, *recent)
    return OpenStory(
        story_id=mine.story_id,
        representatives=representatives,
        last_seen=max(mine.last_seen, theirs.last_seen),
        article_count=article_count,
        links=capped_links((*theirs.links, *mine.links), representatives),
    )
