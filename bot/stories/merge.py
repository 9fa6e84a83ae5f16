"""One open story as two worker processes grew it, made one state.

Workers sharing a database each group in memory and save the stories they touch; a worker
takes in what the others saved (``bot.story_book.StoryBook.sync``). When it has grown the
same story meanwhile, neither state holds all the story's articles, and replacing its own
with the other's would forget the representatives and links only it had seen.
"""

from __future__ import annotations

from bot.stories.fingerprint import StoryFingerprint
from bot.stories.grouper import MAX_REPRESENTATIVES, OpenStory, capped_links


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
    first = min(mine.representatives[0], theirs.representatives[0], key=_order)
    others = dict.fromkeys(rep for rep in (*mine.representatives, *theirs.representatives) if rep != first)
    recent = sorted(others, key=_order)[-(MAX_REPRESENTATIVES - 1) :]
    representatives = (first, *recent)
    return OpenStory(
        story_id=mine.story_id,
        representatives=representatives,
        last_seen=max(mine.last_seen, theirs.last_seen),
        article_count=max(mine.article_count, theirs.article_count),
        links=capped_links((*theirs.links, *mine.links), representatives),
    )
