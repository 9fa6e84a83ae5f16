"""/follow and /unfollow's core with a real database and the real follow matcher."""

from __future__ import annotations

from bot.follow_matcher import FollowMatcher
from bot.follow_service import follow, unfollow
from bot.settings import parse_settings
from db.engine import SessionFactory

SETTINGS = parse_settings("[search_feeds]\nenabled = false\n", "test", {})
HEADLINE = "Kim Kardashian and Kanye West marry in Florence"


async def test_unfollow_keeps_matching_a_query_someone_else_still_follows(sessions: SessionFactory) -> None:
    matcher = FollowMatcher()
    for guild, channel, member in ((1, 10, 100), (2, 20, 200)):
        await follow(sessions, matcher, SETTINGS, guild_id=guild, channel_id=channel, user_id=member, text="Kim Kanye")

    query, first_removed = await unfollow(
        sessions, matcher, SETTINGS, guild_id=1, channel_id=10, user_id=100, text="kim kanye"
    )
    after_first = matcher.match(HEADLINE, "")
    _query, last_removed = await unfollow(
        sessions, matcher, SETTINGS, guild_id=2, channel_id=20, user_id=200, text="kim kanye"
    )

    assert (first_removed, last_removed) == (True, True)
    assert after_first == {query}  # the other server's member still follows it
    assert matcher.match(HEADLINE, "") == set()
    assert query not in matcher
