"""In-memory grouping of articles into open stories (one story -> one Discord thread).

A story stays open while its newest article is at most ``window`` older than the
newest article the grouper has seen. A new article joins the open story with the
highest similarity among those where ``same_story`` holds against one of the story's
representatives (its first article plus the most recent ones); otherwise it opens a
new story. Memory is bounded: representatives and remembered links per story are
capped, and at most ``max_open_stories`` stories are kept (least recently updated
evicted first).

The grouper trusts ``fp.published``: callers clamp it to the fetch time, so that a
feed dating items in the future cannot expire every open story.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.stories.fingerprint import StoryFingerprint
from bot.stories.index import TokenIndex
from bot.stories.merge import fold_story
from bot.stories.open_story import MAX_LINKS, MAX_REPRESENTATIVES, OpenStory, capped_links
from bot.stories.similarity import DEFAULT_THRESHOLDS, Thresholds, judge

DEFAULT_WINDOW = timedelta(hours=48)
DEFAULT_MAX_OPEN_STORIES = 20_000


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where an article went. ``similarity`` is 1.0 for a link match, else the score
    that won; for a new story it is the best (rejected) score among the candidates
    compared that could have qualified, 0.0 if none - a diagnostic, not a decision input."""

    story_id: str
    is_new: bool
    similarity: float


class StoryGrouper:
    """Assigns articles to stories; see the module docstring for the policy."""

    def __init__(
        self,
        window: timedelta = DEFAULT_WINDOW,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        *,
        max_open_stories: int = DEFAULT_MAX_OPEN_STORIES,
        make_story_id: Callable[[Hashable], str] = str,
        exhaustive: bool = False,
    ) -> None:
        """``exhaustive`` compares each article with every open story instead of the
        index candidates; it exists to verify that the index misses nothing."""
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        if max_open_stories < 1:
            raise ValueError("max_open_stories must be at least 1")
        self._window = window
        self._thresholds = thresholds
        self._max_open = max_open_stories
        self._make_story_id = make_story_id
        self._exhaustive = exhaustive
        self._stories: dict[str, OpenStory] = {}
        self._index = TokenIndex()  # title and summary words of the representatives
        self._title_index = TokenIndex()  # their title words only
        self._event_index = TokenIndex()  # their title words that are not names
        self._links: dict[str, set[str]] = {}  # canonical link -> open stories with it
        self._expiry: list[tuple[datetime, str]] = []  # (last_seen, id); lazy deletion
        self._clock: datetime | None = None  # newest published seen
        # (path, bound, article size) -> {representative size: fewest shared words}: see
        # _SharedNeeds; at most a few thousand small entries (sizes are capped).
        self._needs: dict[tuple[str, int, int], dict[int, int]] = {}

    # -- public API -------------------------------------------------------------

    def assign(self, article_id: Hashable, fp: StoryFingerprint) -> StoryAssignment:
        """Put one article into a story, opening a new one when nothing matches.

        ``fp.published`` drives the window: clamp it to the fetch time beforehand.
        """
        self._advance_clock(fp.published)
        story_id, best = self._best_match(fp)
        if story_id is not None:
            self._add_to(self._stories[story_id], fp)
            return StoryAssignment(story_id=story_id, is_new=False, similarity=best)
        new_id = self._unique_id(self._make_story_id(article_id))
        self._put(
            OpenStory(
                story_id=new_id,
                representatives=(fp,),
                last_seen=fp.published,
                article_count=1,
                links=(fp.link,) if fp.link else (),
            )
        )
        self._enforce_capacity()
        return StoryAssignment(story_id=new_id, is_new=True, similarity=best)

    def load(self, stories: Iterable[OpenStory]) -> None:
        """Add stories (e.g. from the DB at startup); same id replaces the old one."""
        for story in stories:
            rep_links = [rep.link for rep in story.representatives if rep.link]
            missing = [link for link in dict.fromkeys(rep_links) if link not in story.links]
            if missing:  # keep "links include the representatives' links" true
                story = replace(story, links=(*story.links, *missing))
            current = self._stories.get(story.story_id)
            if current is None:
                self._put(story)
            else:
                self._replace(current, story)
            self._advance_clock(story.last_seen)
        self._enforce_capacity()

    def open_stories(self) -> list[OpenStory]:
        """Snapshot of the open stories, oldest first (what ``load`` accepts)."""
        return sorted(self._stories.values(), key=lambda s: (s.last_seen, s.story_id))

    def get(self, story_id: str) -> OpenStory | None:
        return self._stories.get(story_id)

    def fold(self, story_id: str, *, into: Collection[str]) -> str | None:
        """Fold an open story into the story among ``into`` that its first article joins,
        as ``assign`` would have put it had that story been open when it came (its later
        articles joined it; a later one that another story also accepts is no reason: in
        one grouper too, the two would stay apart). The story is then gone and the target
        holds both (``fold_story``). None, changing nothing, when none matches."""
        story = self._stories.get(story_id)
        if story is None or not into:
            return None
        if story_id in into:  # rare (another worker's story of the same id): not into itself
            into = set(into) - {story_id}
        target, _score = self._best_match(story.representatives[0], among=into)
        if target is None:
            return None
        self._drop(story_id)
        current = self._stories[target]
        self._replace(current, fold_story(current, story))
        return target

    def __len__(self) -> int:
        return len(self._stories)

    # -- matching ---------------------------------------------------------------

    def _best_match(self, fp: StoryFingerprint, among: Collection[str] | None = None) -> tuple[str | None, float]:
        best_id: str | None = None
        best_key: tuple[float, datetime, str] | None = None
        best_rejected = 0.0
        title_bound = self._thresholds.min_shared_title_tokens(fp)
        full_bound = self._thresholds.min_shared_full_tokens(fp) if fp.has_summary else None
        # The link index holds exactly the stories whose ``links`` hold a link: one lookup
        # instead of a scan of up to MAX_LINKS links per candidate.
        linked = self._links.get(fp.link, _NO_STORIES) if fp.link is not None else _NO_STORIES
        needs = _SharedNeeds(self._thresholds, fp, title_bound, full_bound, self._needs)
        candidates = self._candidates(fp, title_bound, full_bound)
        if among is not None:
            candidates = [story_id for story_id in candidates if story_id in among]
        for story_id in candidates:
            story = self._stories[story_id]
            if not self._is_open_for(story, fp):
                continue
            if story_id in linked:
                accepted, value = True, 1.0  # shared canonical link: always the same story
            else:
                accepted, value = self._compare(story, fp, needs)
            if not accepted:
                best_rejected = max(best_rejected, value)
                continue
            # Deterministic tie-break: most similar, then most recently active, then id.
            key = (value, story.last_seen, story_id)
            if best_key is None or key > best_key:
                best_id, best_key = story_id, key
        if best_id is None or best_key is None:
            return None, best_rejected
        return best_id, best_key[0]

    def _candidates(self, fp: StoryFingerprint, title_bound: int, full_bound: int | None) -> Iterable[str]:
        if self._exhaustive:
            return list(self._stories)
        # Every same-story decision needs an event word in both titles: a shared title word
        # that is not a name on both sides. So first the stories sharing one (names like
        # "Kardashian" are in thousands of titles; event words are rarer), then the title
        # bound, else - with a summary - the title+summary bound, counted per story.
        thresholds = self._thresholds
        title = fp.title_token_set
        if thresholds.min_event_tokens < 1:  # a tuning sweep without the rule: any shared title word
            events = title
            with_event = self._title_index.holding_any(title)
        else:
            names = fp.name_tokens
            events = title - names
            with_event = self._title_index.holding_any(events)
            with_event |= self._event_index.holding_any(title & names)
        shared_title = self._title_index.shared_counts(title, among=with_event, within=events)
        found = {story_id for story_id, shared in shared_title.items() if shared >= title_bound}
        if full_bound is not None and len(found) < len(with_event):
            shared_full = self._index.shared_counts(fp.tokens, among=with_event - found)
            found.update(story_id for story_id, shared in shared_full.items() if shared >= full_bound)
        if fp.link is not None:
            found |= self._links.get(fp.link, set())
        # Sorted so that the comparison order never depends on set iteration order.
        return sorted(found)

    def _compare(self, story: OpenStory, fp: StoryFingerprint, needs: _SharedNeeds) -> tuple[bool, float]:
        """(same story with any representative, best score among accepting/all reps).

        A representative is scored only when its shared word counts and set sizes leave a
        score able to reach a threshold (``Thresholds``): most candidates pass the index's
        bounds through the union of their representatives, and most representatives that
        pass the bounds are too long or too short to reach the Jaccard thresholds."""
        thresholds = self._thresholds
        title, tokens = fp.title_token_set, fp.tokens
        summary_path = needs.full_bound is not None
        best_accepted = -1.0
        best_any = 0.0
        title_need, full_need = needs.title, needs.full  # never 0: a need is at least its bound
        for rep in story.representatives:
            size = len(rep.title_token_set)
            shared_title = len(rep.title_token_set & title)
            if shared_title < (title_need.get(size) or needs.fill_title(size)):
                if not summary_path or not rep.body_tokens or shared_title == 0:
                    continue  # the summary rule needs a shared title word too
                size = len(rep.tokens)
                if len(rep.tokens & tokens) < (full_need.get(size) or needs.fill_full(size)):
                    continue
            accepted, value = judge(rep, fp, thresholds)
            best_any = max(best_any, value)
            if accepted:
                best_accepted = max(best_accepted, value)
        if best_accepted >= 0.0:
            return True, best_accepted
        return False, best_any

    def _is_open_for(self, story: OpenStory, fp: StoryFingerprint) -> bool:
        return abs(fp.published - story.last_seen) <= self._window or (
            story.representatives[0].published <= fp.published <= story.last_seen
        )

    # -- state ------------------------------------------------------------------

    def _add_to(self, story: OpenStory, fp: StoryFingerprint) -> None:
        reps = story.representatives
        dropped: StoryFingerprint | None = None
        if len(reps) >= MAX_REPRESENTATIVES:
            dropped = reps[1]  # keep the first article; drop the oldest recent one
            reps = (reps[0], *reps[2:])
        reps = (*reps, fp)
        links = story.links
        if fp.link and fp.link not in links:
            links = self._with_link(story, reps, fp.link)
        updated = replace(
            story,
            representatives=reps,
            last_seen=max(story.last_seen, fp.published),
            article_count=story.article_count + 1,
            links=links,
        )
        self._stories[story.story_id] = updated
        if dropped is not None:
            self._unindex(story.story_id, dropped)
        self._index_representative(story.story_id, fp)
        if updated.last_seen != story.last_seen:
            heapq.heappush(self._expiry, (updated.last_seen, story.story_id))

    def _with_link(self, story: OpenStory, reps: tuple[StoryFingerprint, ...], link: str) -> tuple[str, ...]:
        """Story links plus ``link``; over the cap, the oldest link that no
        representative carries is forgotten (representatives' links must stay
        findable, or the link index would miss what comparing them finds)."""
        links = (*story.links, link)
        self._links.setdefault(link, set()).add(story.story_id)
        if len(links) <= MAX_LINKS:
            return links
        kept = capped_links(links, reps)
        for old in set(links).difference(kept):
            self._discard_link(old, story.story_id)
        return kept

    def _discard_link(self, link: str, story_id: str) -> None:
        holders = self._links.get(link)
        if holders is not None:
            holders.discard(story_id)
            if not holders:
                del self._links[link]

    def _index_representative(self, story_id: str, rep: StoryFingerprint) -> None:
        self._index.add(story_id, rep.tokens)
        self._title_index.add(story_id, rep.title_token_set)
        self._event_index.add(story_id, rep.title_token_set - rep.name_tokens)

    def _unindex(self, story_id: str, rep: StoryFingerprint) -> None:
        self._index.remove(story_id, rep.tokens)
        self._title_index.remove(story_id, rep.title_token_set)
        self._event_index.remove(story_id, rep.title_token_set - rep.name_tokens)

    def _put(self, story: OpenStory) -> None:
        self._stories[story.story_id] = story
        for rep in story.representatives:
            self._index_representative(story.story_id, rep)
        for link in story.links:
            self._links.setdefault(link, set()).add(story.story_id)
        heapq.heappush(self._expiry, (story.last_seen, story.story_id))

    def _replace(self, current: OpenStory, story: OpenStory) -> None:
        """``story`` in place of ``current`` (same id), re-indexing only what differs: a
        state taken in from another worker mostly shares its representatives with ours."""
        story_id = story.story_id
        before, after = Counter(current.representatives), Counter(story.representatives)
        for rep in (before - after).elements():
            self._unindex(story_id, rep)
        for rep in (after - before).elements():
            self._index_representative(story_id, rep)
        links = set(story.links)
        for link in current.links:
            if link not in links:
                self._discard_link(link, story_id)
        for link in links.difference(current.links):
            self._links.setdefault(link, set()).add(story_id)
        self._stories[story_id] = story
        if story.last_seen != current.last_seen:
            heapq.heappush(self._expiry, (story.last_seen, story_id))

    def _drop(self, story_id: str) -> None:
        story = self._stories.pop(story_id)
        self._index.drop(story_id)
        self._title_index.drop(story_id)
        self._event_index.drop(story_id)
        for link in story.links:
            self._discard_link(link, story_id)

    def _advance_clock(self, published: datetime) -> None:
        if self._clock is None or published > self._clock:
            self._clock = published
        self._evict_before(self._clock - self._window)

    def _evict_before(self, cutoff: datetime) -> None:
        while self._expiry and self._expiry[0][0] < cutoff:
            last_seen, story_id = heapq.heappop(self._expiry)
            story = self._stories.get(story_id)
            if story is not None and story.last_seen == last_seen:
                self._drop(story_id)

    def _enforce_capacity(self) -> None:
        while len(self._stories) > self._max_open and self._expiry:
            last_seen, story_id = heapq.heappop(self._expiry)
            story = self._stories.get(story_id)
            if story is not None and story.last_seen == last_seen:
                self._drop(story_id)

    def _unique_id(self, candidate: str) -> str:
        if candidate not in self._stories:
            return candidate
        n = 2
        while f"{candidate}#{n}" in self._stories:
            n += 1
        return f"{candidate}#{n}"


_NO_STORIES: frozenset[str] = frozenset()


class _SharedNeeds:
    """For one article: the fewest shared words a representative of a given set size needs
    to be scored at all, on the title path and on the summary path - the index's bound and
    the Jaccard size filter (``Thresholds.*_can_qualify``) in one number. The tables
    (representative size -> fewest shared words) depend only on the bound and the article's
    size, so the grouper keeps them across articles (``tables``)."""

    __slots__ = ("_full_key", "_thresholds", "_title_key", "full", "full_bound", "title")

    def __init__(
        self,
        thresholds: Thresholds,
        fp: StoryFingerprint,
        title_bound: int,
        full_bound: int | None,
        tables: dict[tuple[str, int, int], dict[int, int]],
    ) -> None:
        self._thresholds = thresholds
        self.full_bound = full_bound  # None: the article has no summary, no summary path
        self._title_key = ("title", title_bound, len(fp.title_token_set))
        self._full_key = ("full", full_bound or 0, len(fp.tokens))
        self.title = tables.setdefault(self._title_key, {})
        self.full = tables.setdefault(self._full_key, {})

    def fill_title(self, size: int) -> int:
        return _fill(self.title, self._title_key, self._thresholds.title_can_qualify, size)

    def fill_full(self, size: int) -> int:
        assert self.full_bound is not None, "the summary path needs a summary"
        return _fill(self.full, self._full_key, self._thresholds.full_can_qualify, size)


def _fill(
    table: dict[int, int], key: tuple[str, int, int], can_qualify: Callable[[int, int, int], bool], size: int
) -> int:
    """Work out and remember, for a representative of ``size`` words, the least shared
    count >= the bound that ``can_qualify``; ``size + 1`` (unreachable: the sets cannot
    share more words than one holds) when none up to ``size`` does. ``can_qualify`` grows
    with the count, so this is the exact threshold."""
    _path, bound, article_size = key
    need = next((shared for shared in range(bound, size + 1) if can_qualify(shared, size, article_size)), size + 1)
    table[size] = need
    return need
