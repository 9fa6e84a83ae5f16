"""What /follow suggests while a member types: the names in the stories a server sees.

Plain functions of the open stories (``bot.stories``), so ranking is tested without
Discord; the cache keeps a server's names for a minute, since Discord asks again on
every keystroke.
"""

from __future__ import annotations

import heapq
import re
import sys
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.stories.open_story import OpenStory
from bot.stories.text import fold

_WORD = re.compile(r"[^\W_]+")
MAX_SUGGESTIONS = 25  # Discord shows at most 25 choices
CACHE_SECONDS = 60.0
# Memory: a server's 2,000 ranked names take about 240 KiB (measured; words interned), so
# the cache holds at most about 24 MB, however many servers type at once. A name past the
# heaviest 2,000 is not suggested; the member's own text still follows it.
CACHED_SERVERS = 100
RANKED_NAMES = 2_000
# A "name" longer than this is a headline in title case, not someone to follow.
MAX_NAME_WORDS = 4


@dataclass(frozen=True)
class Suggestion:
    query: str  # a name as a follow's words, e.g. "kim kardashian"
    articles: int  # stored articles of the stories that name it


def names_by_weight(stories: Iterable[OpenStory]) -> Counter[str]:
    """Every name (and headline subject) of the stories' representative articles, weighted
    by the articles of the stories that carry it; runs of more than ``MAX_NAME_WORDS``
    words are left out."""
    weights: Counter[str] = Counter()
    for story in stories:
        names = {name for rep in story.representatives for name in rep.names}
        names.update(rep.subject for rep in story.representatives if rep.subject)
        for name in names:
            if name.count(" ") < MAX_NAME_WORDS:
                weights[name] += story.article_count
    return weights


# (name, its words, weight), heaviest first: what a server's suggestions are read from.
RankedNames = list[tuple[str, tuple[str, ...], int]]


def rank(weights: Mapping[str, int], *, keep: int = RANKED_NAMES) -> RankedNames:
    """The ``keep`` heaviest names (ties alphabetically), each with its words, ready for
    ``suggest`` on every keystroke."""
    heaviest = heapq.nsmallest(keep, weights, key=lambda name: (-weights[name], name))
    return [(name, tuple(map(sys.intern, name.split())), weights[name]) for name in heaviest]


def suggest(ranked: RankedNames, typed: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """The heaviest names in which every typed word begins a word ("kim kar" finds "kim
    kardashian", "kard" finds it too); nothing typed: the heaviest names. The query
    language's marks (quotes, -, *) are not words: '"kim k' suggests as 'kim k' does."""
    wanted = _WORD.findall(fold(typed))
    found: list[Suggestion] = []
    for name, words, weight in ranked:
        if all(any(word.startswith(part) for word in words) for part in wanted):
            found.append(Suggestion(name, weight))
            if len(found) == limit:
                break
    return found


class SuggestionCache:
    """A server's ranked names, kept ``seconds`` (least recently used servers go first)."""

    def __init__(
        self,
        *,
        seconds: float = CACHE_SECONDS,
        servers: int = CACHED_SERVERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds, self._servers, self._clock = seconds, servers, clock
        self._entries: OrderedDict[int, tuple[float, RankedNames]] = OrderedDict()

    def get(self, guild_id: int) -> RankedNames | None:
        entry = self._entries.get(guild_id)
        if entry is None or entry[0] <= self._clock():
            return None
        self._entries.move_to_end(guild_id)
        return entry[1]

    def put(self, guild_id: int, ranked: RankedNames) -> None:
        self._entries[guild_id] = (self._clock() + self._seconds, ranked)
        self._entries.move_to_end(guild_id)
        while len(self._entries) > self._servers:
            self._entries.popitem(last=False)
