"""The in-process follow index, kept in step with the follows table.

It holds each distinct normalized query once (many members may follow the same one);
``sync`` applies the difference with the database's set, so it serves both this
process's own /follow and /unfollow and changes other worker processes made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.errors import QueryError
from bot.query.document import MatchDoc
from bot.query.index import FollowIndex
from bot.query.parser import parse_query


class FollowMatcher:
    def __init__(self) -> None:
        self._index: FollowIndex[str] = FollowIndex()
        self._queries: set[str] = set()
        self.version: int = -1

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, query: str) -> bool:
        return query in self._queries

    def add(self, normalized: str) -> None:
        if normalized in self._queries:
            return
        try:
            self._index.add(normalized, parse_query(normalized, max_chars=10_000, max_terms=1_000))
        except QueryError:
            # A stored query the current parser refuses (rules tightened): skip, don't crash.
            return
        self._queries.add(normalized)

    def remove(self, normalized: str) -> None:
        if normalized in self._queries:
            self._index.remove(normalized)
            self._queries.discard(normalized)

    def sync(self, queries: Iterable[str], version: int) -> None:
        wanted = set(queries)
        for gone in [q for q in self.known() if q not in wanted]:
            self.remove(gone)
        for query in wanted:
            self.add(query)
        self.version = version

    def known(self) -> list[str]:
        return sorted(self._queries)

    def match(self, title: str, summary: str, categories: Sequence[str] = ()) -> set[str]:
        if not len(self._index):
            return set()
        return self._index.match(MatchDoc.from_article(title, summary, categories))
