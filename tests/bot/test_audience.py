from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete

from bot.audience import AudienceCache, oldest_first
from bot.ingest import FollowRef
from db.engine import SessionFactory
from db.models import Follow
from db.repo import follows as follow_repo

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def add(sessions: SessionFactory, user: int, query: str, channel: int = 10, **extra: object) -> None:
    async with sessions.begin() as s:
        await follow_repo.add_follow(s, guild_id=1, channel_id=channel, user_id=user, query=query, now=NOW, **extra)


async def audience(sessions: SessionFactory, cache: AudienceCache, *queries: str) -> list[tuple[int, str]]:
    async with sessions() as s:
        return [(ref.user_id, ref.query) for ref in oldest_first(await cache.groups_of(s, queries), queries)]


async def test_follows_of_the_queries_oldest_first(sessions: SessionFactory) -> None:
    for user, query in ((3, "kim"), (1, "kanye"), (2, "kim"), (4, "oscars")):
        await add(sessions, user, query)
    cache = AudienceCache()
    assert await audience(sessions, cache, "kim", "kanye") == [(3, "kim"), (1, "kanye"), (2, "kim")]
    assert await audience(sessions, cache, "nobody") == []
    async with sessions() as s:
        [ref] = oldest_first(await cache.groups_of(s, ["oscars"]), ["oscars"])
    assert ref == FollowRef(1, 10, 4, "oscars", "instant", False)


async def test_a_change_to_follows_is_seen_on_the_next_read(sessions: SessionFactory) -> None:
    await add(sessions, 1, "kim")
    cache = AudienceCache()
    assert await audience(sessions, cache, "kim") == [(1, "kim")]
    assert len(cache) == 1
    await add(sessions, 2, "kim", channel=11)
    assert await audience(sessions, cache, "kim") == [(1, "kim"), (2, "kim")]
    async with sessions.begin() as s:
        assert await follow_repo.remove_follow(s, guild_id=1, channel_id=10, user_id=1, query="kim")
    assert await audience(sessions, cache, "kim") == [(2, "kim")]
    async with sessions.begin() as s:
        await follow_repo.remove_member(s, guild_id=1, user_id=2)
    assert await audience(sessions, cache, "kim") == []


async def test_answers_come_from_memory_while_nothing_changed(sessions: SessionFactory) -> None:
    await add(sessions, 1, "kim")
    cache = AudienceCache()
    assert await audience(sessions, cache, "kim") == [(1, "kim")]
    # Behind the version counter's back (no code path does this): the cache must not notice.
    async with sessions.begin() as s:
        await s.execute(delete(Follow))
    assert await audience(sessions, cache, "kim") == [(1, "kim")]


async def test_the_least_recently_used_queries_make_room(sessions: SessionFactory) -> None:
    for user in range(3):
        await add(sessions, user, "a")
        await add(sessions, user, "b")
        await add(sessions, user, "c")
    cache = AudienceCache(max_follows=6)
    await audience(sessions, cache, "a")
    await audience(sessions, cache, "b")
    await audience(sessions, cache, "a")  # a is now the most recently used
    await audience(sessions, cache, "c")  # 9 follows held: b goes
    assert len(cache) == 6
    async with sessions.begin() as s:  # behind the counter's back: shows what is held
        await s.execute(delete(Follow))
    assert await audience(sessions, cache, "a") == [(0, "a"), (1, "a"), (2, "a")]
    assert await audience(sessions, cache, "b") == []
