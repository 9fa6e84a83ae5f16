"""What /follow suggests while a member types: the names in the stories a server sees.

Plain functions of the open stories (``bot.stories``), so ranking is tested without
Discord; the cache keeps a server's names for a minute, since Discord asks again on
every keystroke.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.stories.grouper import OpenStory
from bot.stories.text import fold

MAX_SUGGESTIONS = 25  # Discord shows at most 25 choices
CACHE_SECONDS = 60.0
CACHED_SERVERS = 1_000


@dataclass(frozen=True)
class Suggestion:
    query: str  # a name as a follow's words, e.g. "kim kardashian"
    articles: int  # stored articles of the stories that name it


def names_by_weight(stories: Iterable[OpenStory]) -> Counter[str]:
    """Every name (and headline subject) of the stories' representative articles, weighted
    by the articles of the stories that carry it."""
    weights: Counter[str] = Counter()
    for story in stories:
        names = {name for rep in story.representatives for name in rep.names}
        names.update(rep.subject for rep in story.representatives if rep.subject)
        for name in names:
            weights[name] += story.article_count
    return weights


def suggest(weights: Mapping[str, int], typed: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """The heaviest names in which every typed word begins a word ("kim kar" finds "kim
    kardashian", "kard" finds it too); nothing typed: the heaviest names."""
    wanted = fold(typed).split()

    def fits(name: str) -> bool:
        words = name.split()
        return all(any(word.startswith(part) for word in words) for part in wanted)

    ranked = sorted((name for name in weights if fits(name)), key=lambda name: (-weights[name], name))
    return [Suggestion(name, weights[name]) for name in ranked[:limit]]


class SuggestionCache:
    """A server's name weights, kept ``seconds`` (least recently used servers go first)."""

    def __init__(
        self,
        *,
        seconds: float = CACHE_SECONDS,
        servers: int = CACHED_SERVERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds, self._servers, self._clock = seconds, servers, clock
        self._entries: OrderedDict[int, tuple[float, Counter[str]]] = OrderedDict()

    def get(self, guild_id: int) -> Counter[str] | None:
        entry = self._entries.get(guild_id)
        if entry is None or entry[0] <= self._clock():
            return None
        self._entries.move_to_end(guild_id)
        return entry[1]

    def put(self, guild_id: int, weights: Counter[str]) -> None:
        self._entries[guild_id] = (self._clock() + self._seconds, weights)
        self._entries.move_to_end(guild_id)
        while len(self._entries) > self._servers:
            self._entries.popitem(last=False)
