"""What the admin commands do, without Discord: server feeds, settings and status."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import utcnow
from bot.delivery.policy import policy_of
from bot.errors import AdminError, FeedError, FeedParseError, LimitExceeded
from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from bot.fetch.fetcher import FeedFetcher
from bot.fetch.netguard import validate_feed_url
from bot.settings import Settings
from db.engine import SessionFactory
from db.models import Feed
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import follows as follow_repo
from db.repo import guild_settings as guild_repo


@dataclass(frozen=True)
class FeedPreview:
    feed_id: int
    name: str
    url: str
    title: str
    headlines: list[str]
    already_added: bool


async def preview_feed(
    fetcher: FeedFetcher, parse_pool: Executor | None, url: str, *, allow_private: bool
) -> tuple[str, ParsedFeed]:
    """Validate, SSRF-check and fetch a member-supplied URL once; parse it off the loop."""
    url = validate_feed_url(url)
    if not allow_private:
        await fetcher.check_url(url)
    result = await fetcher.fetch(url, trusted=False)
    if result.body is None:
        raise FeedParseError("the server sent no feed document")
    job = partial(
        parse_feed,
        result.body,
        url=result.final_url,
        fetched_at=utcnow(),
        content_type=result.content_type,
    )
    parsed = await asyncio.get_running_loop().run_in_executor(parse_pool, job)
    return result.final_url, parsed


async def add_server_feed(
    sessions: SessionFactory,
    fetcher: FeedFetcher,
    parse_pool: Executor | None,
    settings: Settings,
    *,
    guild_id: int,
    user_id: int,
    url: str,
    name: str | None,
) -> FeedPreview:
    async with sessions() as session:
        owned = await feed_repo.guild_feed_count(session, guild_id)
    if owned >= settings.limits.feeds_per_server:
        raise LimitExceeded(
            f"This server already has {owned} feeds (the limit is {settings.limits.feeds_per_server}). "
            "Remove one with /feeds remove first."
        )
    try:
        final_url, parsed = await preview_feed(
            fetcher, parse_pool, url, allow_private=settings.security.allow_private_feed_urls
        )
    except FeedError as exc:
        raise AdminError(f"Could not add that feed: {exc}") from None
    title = parsed.title or final_url
    display = (name or title)[:100]
    now = utcnow()
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session,
            url=final_url,
            name=display,
            kind="server",
            trusted=False,
            interval=settings.polling.interval_seconds,
            now=now,
        )
        if feed.kind == "search":
            raise AdminError("That address is one of Storywatch's own search feeds.")
        added = await feed_repo.link_guild_feed(
            session, guild_id=guild_id, feed_id=feed.id, name=display, user_id=user_id, now=now
        )
        if not feed.enabled and feed.kind == "server":
            feed.enabled, feed.disabled_reason, feed.consecutive_failures = True, None, 0
            feed.next_poll_at = now
    return FeedPreview(
        feed_id=feed.id,
        name=display,
        url=final_url,
        title=title,
        headlines=[item.title for item in parsed.items[:3]],
        already_added=not added or feed.kind == "config",
    )


async def remove_server_feed(sessions: SessionFactory, *, guild_id: int, feed_id: int) -> str | None:
    """Unlink a server's feed; the feed itself goes when no server uses it any more."""
    async with sessions.begin() as session:
        return await feed_repo.unlink_guild_feed(session, guild_id=guild_id, feed_id=feed_id)


async def server_feed_choices(sessions: SessionFactory, *, guild_id: int, typed: str) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await feed_repo.guild_own_feeds(session, guild_id)
    needle = typed.casefold().strip()
    return [(name, feed.id) for feed, name in rows if needle in name.casefold() or needle in feed.url.casefold()][:25]


@dataclass(frozen=True)
class FeedLine:
    name: str
    url: str
    kind: str
    enabled: bool
    last_success_at: datetime | None
    last_error: str | None
    next_poll_at: datetime
    disabled_reason: str | None


async def list_feeds(sessions: SessionFactory, *, guild_id: int) -> list[FeedLine]:
    async with sessions() as session:
        rows = await feed_repo.feeds_for_guild(session, guild_id)
    return [_line(feed, name) for feed, name in rows]


def _line(feed: Feed, name: str) -> FeedLine:
    return FeedLine(
        name=name,
        url=feed.url,
        kind=feed.kind,
        enabled=feed.enabled,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        next_poll_at=feed.next_poll_at,
        disabled_reason=feed.disabled_reason,
    )


@dataclass(frozen=True)
class GuildStatus:
    follows_total: int
    follows_by_channel: list[tuple[int, int]]
    feeds: list[FeedLine]
    paused: list[tuple[int, str, datetime | None]]
    last_alert_at: datetime | None
    queue_length: int
    held: int
    missed: int


async def guild_status(sessions: SessionFactory, *, guild_id: int) -> GuildStatus:
    async with sessions() as session:
        by_channel = await follow_repo.guild_follow_counts(session, guild_id)
        feeds = await feed_repo.feeds_for_guild(session, guild_id)
        paused = await delivery_repo.paused_channels(session, guild_id)
        last = await delivery_repo.last_alert_at(session, guild_id)
        queue = await delivery_repo.pending_count(session, guild_id)
        held = await delivery_repo.held_count(session, guild_id)
        missed = await delivery_repo.missed_count(session, guild_id)
    return GuildStatus(
        follows_total=sum(n for _, n in by_channel),
        follows_by_channel=by_channel,
        feeds=[_line(f, n) for f, n in feeds],
        paused=[(p.channel_id, p.paused_reason or "unknown", p.paused_at) for p in paused],
        last_alert_at=last,
        queue_length=queue,
        held=held,
        missed=missed,
    )


@dataclass(frozen=True)
class EffectiveSettings:
    story_mode: str
    max_per_window: int
    window_seconds: float
    quiet_hours: str
    timezone: str
    search_feeds: bool
    allowed_channel_ids: list[int]
    bundle_max: int  # 1: every alert its own message
    alert_buttons: bool


async def effective_settings(sessions: SessionFactory, settings: Settings, *, guild_id: int) -> EffectiveSettings:
    async with sessions() as session:
        row = await guild_repo.get(session, guild_id)
    policy = policy_of(row, settings.alerts)  # what the sender applies, shown as is
    return EffectiveSettings(
        story_mode=policy.story_mode,
        max_per_window=policy.max_per_window,
        window_seconds=policy.window.total_seconds(),
        quiet_hours=policy.quiet_hours,
        timezone=policy.timezone,
        search_feeds=settings.search_feeds.enabled if row is None or row.search_feeds is None else row.search_feeds,
        allowed_channel_ids=[int(c) for c in (row.allowed_channel_ids or "").split()] if row else [],
        bundle_max=policy.bundle_max,
        alert_buttons=policy.alert_buttons,
    )


def validate_quiet_hours(text: str) -> str:
    """'23:00-07:00' (or '' for none), normalized; raises AdminError naming the problem."""
    text = text.strip()
    if not text or text.lower() in ("off", "none"):
        return ""
    try:
        start, end = (part.strip() for part in text.split("-", 1))
        for part in (start, end):
            hours, minutes = part.split(":")
            if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
                raise ValueError
    except ValueError:
        raise AdminError(f"Quiet hours must look like 23:00-07:00, not {text!r}.") from None
    return f"{int(start[:-3]):02d}:{start[-2:]}-{int(end[:-3]):02d}:{end[-2:]}"


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"Unknown time zone {name!r}: use a name like Europe/Paris or America/New_York.") from None
    return name


async def update_settings(sessions: SessionFactory, *, guild_id: int, **changes: Any) -> None:
    clean = {k: v for k, v in changes.items() if v is not None}
    if "quiet_hours" in clean:
        clean["quiet_hours"] = validate_quiet_hours(clean["quiet_hours"])
    if "timezone" in clean:
        clean["timezone"] = validate_timezone(clean["timezone"])
    if "story_mode" in clean and clean["story_mode"] not in ("thread", "separate"):
        raise AdminError("Story mode is thread or separate.")
    if "max_per_window" in clean and not 1 <= clean["max_per_window"] <= 100:
        raise AdminError("The cap must be between 1 and 100 alerts per window.")
    if "window_seconds" in clean and not 60 <= clean["window_seconds"] <= 86_400:
        raise AdminError("The window must be between 1 minute and 24 hours.")
    if not clean:
        return
    async with sessions.begin() as session:
        await guild_repo.update_settings(session, guild_id, **clean)


async def toggle_allowed_channel(sessions: SessionFactory, *, guild_id: int, channel_id: int) -> list[int]:
    """Add or remove a channel from the server's follow channels; empty list means all."""
    async with sessions.begin() as session:
        row = await guild_repo.get(session, guild_id)
        current = [int(c) for c in ((row.allowed_channel_ids if row else None) or "").split()]
        if channel_id in current:
            current.remove(channel_id)
        else:
            current.append(channel_id)
        await guild_repo.update_settings(session, guild_id, allowed_channel_ids=" ".join(map(str, current)) or None)
    return current
