"""What /follow, /unfollow, /follows and /latest do, without Discord.

The cogs parse the interaction, call these functions and render the result; each
function opens its own transaction (one session per interaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.errors import LimitExceeded, NotAllowed
from bot.follow_matcher import FollowMatcher
from bot.follow_suggestions import Suggestion, SuggestionCache, names_by_weight, rank, suggest
from bot.query.document import MatchDoc
from bot.query.matcher import matches
from bot.query.model import Query
from bot.query.parser import parse_query
from bot.settings import Settings
from bot.story_book import StoryBook
from db.engine import SessionFactory
from db.models import Item
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import follows as follow_repo
from db.repo import guild_settings as guild_repo
from db.repo import items as item_repo
from db.repo import stories as story_repo


@dataclass(frozen=True)
class LatestLine:
    """A story's newest matching article, standing for the story."""

    item_id: int
    title: str
    link: str | None
    source: str
    at: datetime
    alerted_here: bool
    more: int = 0  # the story's other stored articles this server sees
    thread_id: int | None = None  # the thread gathering the story in this channel


@dataclass(frozen=True)
class FollowResult:
    query: str
    created: bool
    search_feed: bool
    # The newest stored articles the follow matches, newest first: what it would have
    # caught, so a member sees at once whether the query says what they meant.
    recent: tuple[LatestLine, ...] = ()


@dataclass(frozen=True)
class LatestPage:
    lines: list[LatestLine]
    page: int
    has_more: bool
    queries: list[str]


def parse(settings: Settings, text: str) -> Query:
    return parse_query(text, max_chars=settings.follows.max_query_chars, max_terms=settings.follows.max_terms)


def search_feed_url(settings: Settings, query: Query) -> str:
    return settings.search_feeds.template.replace("{query}", quote_plus(query.search_string()))


async def follow(
    sessions: SessionFactory,
    matcher: FollowMatcher,
    settings: Settings,
    *,
    guild_id: int,
    channel_id: int,
    user_id: int,
    text: str,
    delivery: str = "instant",
    dm: bool = False,
    search_feeds: bool | None = None,
    preview: bool = True,
) -> FollowResult:
    """Save a follow (idempotent) and make sure its search feed exists when enabled; with
    ``preview``, the result carries the newest stored articles it matches (``FOLLOW_PREVIEW``)."""
    query = parse(settings, text)
    now = utcnow()
    async with sessions.begin() as session:
        server = await guild_repo.get(session, guild_id)
        allowed = [int(c) for c in ((server.allowed_channel_ids if server else None) or "").split()]
        if allowed and channel_id not in allowed:
            where = ", ".join(f"<#{c}>" for c in allowed)
            raise NotAllowed(f"This server keeps follows in {where}. Follow there instead.")
        use_search = settings.search_feeds.enabled if search_feeds is None else search_feeds
        if server is not None and server.search_feeds is not None:
            use_search = use_search and server.search_feeds
        existing = {
            f.query
            for f in await follow_repo.member_follows(
                session, guild_id=guild_id, user_id=user_id, channel_id=channel_id
            )
        }
        if query.normalized not in existing:
            count = await follow_repo.count_member_follows(session, guild_id=guild_id, user_id=user_id)
            if count >= settings.follows.max_per_member:
                raise LimitExceeded(
                    f"You already follow {count} queries in this server (the limit is "
                    f"{settings.follows.max_per_member}). Remove one with /unfollow first."
                )
        search_feed_id: int | None = None
        if use_search:
            search_feed = await feed_repo.get_or_create_feed(
                session,
                url=search_feed_url(settings, query),
                name=f"Search: {query.normalized}",
                kind="search",
                trusted=True,
                interval=settings.search_feeds.interval_seconds,
                now=now,
                search_query=query.search_string(),
            )
            search_feed_id = search_feed.id
        created = await follow_repo.add_follow(
            session,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            query=query.normalized,
            delivery=delivery,
            dm=dm,
            now=now,
            search_feed_id=search_feed_id,
        )
    matcher.add(query.normalized)
    recent: list[LatestLine] = []
    if preview:
        async with sessions() as session:
            recent, _more = await _newest_matching(
                session, guild_id=guild_id, channel_id=channel_id, queries=[query], limit=FOLLOW_PREVIEW
            )
    return FollowResult(query=query.normalized, created=created, search_feed=use_search, recent=tuple(recent))


async def unfollow(
    sessions: SessionFactory,
    matcher: FollowMatcher,
    settings: Settings,
    *,
    guild_id: int,
    channel_id: int,
    user_id: int,
    text: str,
) -> tuple[str, bool]:
    query = parse(settings, text)
    async with sessions.begin() as session:
        removed = await follow_repo.remove_follow(
            session,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            query=query.normalized,
        )
        still_used = await follow_repo.is_followed(session, query.normalized)
        if removed:
            await feed_repo.disable_orphan_search_feeds(session)
    if removed and not still_used:
        matcher.remove(query.normalized)
    return query.normalized, removed


async def list_follows(
    sessions: SessionFactory, *, guild_id: int, user_id: int, channel_id: int | None
) -> list[tuple[int, str, str, bool]]:
    """(channel id, query, delivery, dm) of a member's follows, here or in the server."""
    async with sessions() as session:
        rows = await follow_repo.member_follows(session, guild_id=guild_id, user_id=user_id, channel_id=channel_id)
    return [(f.channel_id, f.query, f.delivery, f.dm) for f in rows]


async def autocomplete_follows(
    sessions: SessionFactory, *, guild_id: int, channel_id: int, user_id: int, typed: str
) -> list[str]:
    """The member's follows in this channel: all (up to 25) when nothing is typed."""
    async with sessions() as session:
        rows = await follow_repo.member_follows(session, guild_id=guild_id, user_id=user_id, channel_id=channel_id)
    needle = " ".join(typed.casefold().split())
    return [f.query for f in rows if needle in f.query.casefold()][:25]


@dataclass(frozen=True)
class AlertChoice:
    """A follow an alert matched, and whether the member asking follows it in its channel."""

    query: str
    following: bool


MAX_ALERT_CHOICES = 25  # a message holds 25 buttons


async def alert_choices(
    sessions: SessionFactory, *, guild_id: int, channel_id: int, user_id: int, message_id: int
) -> list[AlertChoice]:
    """The follows a sent alert message matched (every alert in a bundle), sorted, each
    with whether this member follows it in the alert's channel; [] once the alert's
    rows are gone (pruned) or for a message that is not an alert here."""
    async with sessions() as session:
        alerts = await delivery_repo.alerts_in_message(session, channel_id, message_id)
        if not alerts:
            return []
        mine = await follow_repo.member_follows(session, guild_id=guild_id, user_id=user_id, channel_id=channel_id)
    queries = sorted({q for alert in alerts for q in alert.queries.split("\n") if q})
    following = {f.query for f in mine}
    return [AlertChoice(query, query in following) for query in queries[:MAX_ALERT_CHOICES]]


async def suggest_follows(
    sessions: SessionFactory,
    book: StoryBook | None,
    cache: SuggestionCache,
    *,
    guild_id: int,
    typed: str,
) -> list[Suggestion]:
    """Names to follow, from the open stories with articles in the feeds this server sees:
    a story only another server's own or search feeds carry never shows (it would tell
    what that server follows)."""
    if book is None:
        return []
    ranked = cache.get(guild_id)
    if ranked is None:
        async with sessions() as session:
            feed_ids = [feed.id for feed, _name in await feed_repo.feeds_for_guild(session, guild_id)]
            story_ids = await item_repo.recent_story_ids(session, feed_ids, since=utcnow() - book.window)
        ranked = rank(names_by_weight(story for story in map(book.grouper.get, story_ids) if story is not None))
        cache.put(guild_id, ranked)
    return suggest(ranked, typed)


LATEST_PAGE_SIZE = 10
SCAN_LIMIT = 5000
FOLLOW_PREVIEW = 3  # articles a new follow's reply shows


async def latest(
    sessions: SessionFactory,
    settings: Settings,
    *,
    guild_id: int,
    channel_id: int,
    user_id: int,
    text: str | None,
    page: int = 0,
) -> LatestPage:
    """Newest stored articles matching ``text`` (or the member's follows here)."""
    if text and text.strip():
        queries = [parse(settings, text)]
    else:
        async with sessions() as session:
            own = await follow_repo.member_follows(session, guild_id=guild_id, user_id=user_id, channel_id=channel_id)
        queries = [parse_query(f.query, max_chars=10_000, max_terms=1_000) for f in own]
    if not queries:
        return LatestPage([], page, False, [])
    async with sessions() as session:
        lines, has_more = await _newest_matching(
            session,
            guild_id=guild_id,
            channel_id=channel_id,
            queries=queries,
            limit=LATEST_PAGE_SIZE,
            offset=page * LATEST_PAGE_SIZE,
        )
    return LatestPage(lines, page, has_more, [q.normalized for q in queries])


async def _newest_matching(
    session: AsyncSession,
    *,
    guild_id: int,
    channel_id: int,
    queries: list[Query],
    limit: int,
    offset: int = 0,
) -> tuple[list[LatestLine], bool]:
    """Up to ``limit`` stories with stored articles of the feeds this server sees that match
    any of ``queries``, newest first, after skipping ``offset`` stories; and whether more
    exist. A story shows as its newest matching article, with the count of its other
    coverage and its thread in this channel: twenty outlets on one story are one line."""
    feed_names = {feed.id: name for feed, name in await feed_repo.feeds_for_guild(session, guild_id)}
    listed: set[str] = set()

    def first_of_its_story(item: Item) -> bool:
        # Candidates come newest first, so the first match of a story is its newest; a
        # story already listed needs no matching.
        if item.story_id is not None and item.story_id in listed:
            return False
        if not _item_matches(item, queries):
            return False
        if item.story_id is not None:
            listed.add(item.story_id)
        return True

    found = await item_repo.search_items(
        session,
        list(feed_names),
        queries,
        accept=first_of_its_story,
        limit=limit + 1,
        offset=offset,
        scan_limit=SCAN_LIMIT,
    )
    shown = found[:limit]
    story_ids = [item.story_id for item in shown if item.story_id]
    sizes = await item_repo.story_sizes(session, list(feed_names), story_ids)
    threads = await story_repo.threads_in_channel(session, channel_id, story_ids)
    alerted = await delivery_repo.alerted_items(session, channel_id, [i.id for i in shown])
    lines = [
        LatestLine(
            item_id=item.id,
            title=item.title,
            link=item.link,
            source=item.source_name or feed_names.get(item.feed_id, "?"),
            at=item.sort_at,
            alerted_here=item.id in alerted,
            more=max(0, sizes.get(item.story_id, 1) - 1) if item.story_id else 0,
            thread_id=threads.get(item.story_id) if item.story_id else None,
        )
        for item in shown
    ]
    return lines, len(found) > limit


def _item_matches(item: Item, queries: list[Query]) -> bool:
    doc = MatchDoc.from_article(item.title, item.summary, [c for c in item.categories.split("\n") if c])
    return any(matches(q, doc) for q in queries)
