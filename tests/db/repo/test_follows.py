from __future__ import annotations

from datetime import UTC, datetime

from db.engine import SessionFactory
from db.repo import follows as follow_repo

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def test_same_follow_twice_is_stored_once_and_versions_bump(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        v0 = await follow_repo.follows_version(s)
        first = await follow_repo.add_follow(s, guild_id=1, channel_id=2, user_id=3, query="kanye kim", now=NOW)
        second = await follow_repo.add_follow(s, guild_id=1, channel_id=2, user_id=3, query="kanye kim", now=NOW)
    async with sessions() as s:
        rows = await follow_repo.member_follows(s, guild_id=1, user_id=3)
        v1 = await follow_repo.follows_version(s)
    assert (first, second) == (True, False)
    assert [r.query for r in rows] == ["kanye kim"]
    assert v1 > v0


async def test_member_removal_drops_only_their_follows_in_that_server(
    sessions: SessionFactory,
) -> None:
    async with sessions.begin() as s:
        for guild, user in ((1, 10), (1, 11), (2, 10)):
            await follow_repo.add_follow(s, guild_id=guild, channel_id=guild * 100, user_id=user, query="q", now=NOW)
    async with sessions.begin() as s:
        assert await follow_repo.remove_member(s, guild_id=1, user_id=10) == 1
    async with sessions() as s:
        left = sorted(
            (guild, user) for _id, guild, _channel, user, *_rest in await follow_repo.audience_of_queries(s, ["q"])
        )
    assert left == [(1, 11), (2, 10)]


async def test_channel_counts_and_removal(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        for user in (1, 2, 3):
            await follow_repo.add_follow(s, guild_id=9, channel_id=50, user_id=user, query=f"q{user}", now=NOW)
        await follow_repo.add_follow(s, guild_id=9, channel_id=51, user_id=1, query="q1", now=NOW)
    async with sessions() as s:
        assert await follow_repo.guild_follow_counts(s, 9) == [(50, 3), (51, 1)]
    async with sessions.begin() as s:
        gone = await follow_repo.remove_channel(s, channel_id=50)
    assert sorted(f.user_id for f in gone) == [1, 2, 3]


async def test_a_query_is_followed_while_anyone_anywhere_follows_it(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        await follow_repo.add_follow(s, guild_id=1, channel_id=10, user_id=3, query="kanye kim", now=NOW)
        await follow_repo.add_follow(s, guild_id=2, channel_id=20, user_id=4, query="kanye kim", now=NOW)
        await follow_repo.add_follow(s, guild_id=1, channel_id=10, user_id=3, query="kanye", now=NOW)
    followed = []
    for guild, channel, user in ((1, 10, 3), (2, 20, 4)):
        async with sessions.begin() as s:
            await follow_repo.remove_follow(s, guild_id=guild, channel_id=channel, user_id=user, query="kanye kim")
            followed.append(await follow_repo.is_followed(s, "kanye kim"))
    async with sessions() as s:
        other = await follow_repo.is_followed(s, "kanye")
        prefix = await follow_repo.is_followed(s, "kanye k")
    assert followed == [True, False]
    assert (other, prefix) == (True, False)
