"""Who follows a query: the follows of recently matched queries, kept in memory.

Every changed feed asks for the follows of the queries its items matched: hundreds of
rows, read again for every feed although follows rarely change. The cache answers from
memory while the follows version counter (bumped in the same transaction as every
change to follows, see ``db.repo.follows``) stays what it was; one small read of the
counter per feed checks that, so a change made by any process is seen at once.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ingest import FollowRef
from db.repo import follows as follow_repo

# A few hundred bytes a follow: a few megabytes at most, whatever the number of follows
# (a poll worker's memory has a budget, see bench.memory).
DEFAULT_MAX_FOLLOWS = 10_000

# query -> its follows as (follow id, follow)
FollowGroups = Mapping[str, tuple[tuple[int, FollowRef], ...]]


def oldest_first(groups: FollowGroups, queries: Iterable[str]) -> list[FollowRef]:
    """The follows of ``queries`` in ``groups``, oldest follow first (a member's first
    follow is the one a plan keeps)."""
    pairs = sorted(pair for query in queries for pair in groups.get(query, ()))
    return [ref for _follow_id, ref in pairs]


class AudienceCache:
    def __init__(self, max_follows: int = DEFAULT_MAX_FOLLOWS) -> None:
        self._max_follows = max_follows
        self._version: int | None = None
        # query -> its follows as (follow id, ref); least recently used first
        self._by_query: OrderedDict[str, tuple[tuple[int, FollowRef], ...]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        """Follows held."""
        return self._size

    async def groups_of(self, session: AsyncSession, queries: Collection[str]) -> FollowGroups:
        """The follows of ``queries`` as the database holds them now, by query."""
        version = await follow_repo.follows_version(session)
        if version != self._version:
            self._by_query.clear()
            self._size = 0
            self._version = version
        found = {query: self._by_query[query] for query in queries if query in self._by_query}
        missing = [query for query in queries if query not in found]
        if missing:
            fetched: dict[str, list[tuple[int, FollowRef]]] = {query: [] for query in missing}
            for follow_id, guild, channel, member, query, delivery, dm in await follow_repo.audience_of_queries(
                session, missing
            ):
                # One copy of each query and delivery string, not one per row read.
                ref = FollowRef(guild, channel, member, sys.intern(query), sys.intern(delivery), dm)
                fetched[ref.query].append((follow_id, ref))
            for query, pairs in fetched.items():
                found[query] = tuple(pairs)
            # Another task may have seen a newer version while this one read: what it
            # read belongs to the older version and is returned, not kept.
            if self._version == version:
                self._keep({query: found[query] for query in missing})
        for query in found:
            if query in self._by_query:
                self._by_query.move_to_end(query)
        return found

    def _keep(self, entries: dict[str, tuple[tuple[int, FollowRef], ...]]) -> None:
        for query, pairs in entries.items():
            self._by_query[query] = pairs
            self._size += len(pairs)
        while self._size > self._max_follows and self._by_query:
            _query, dropped = self._by_query.popitem(last=False)
            self._size -= len(dropped)
