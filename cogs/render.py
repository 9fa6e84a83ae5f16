"""Text for command replies (alerts themselves are rendered in bot/delivery/render.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.admin_service import EffectiveSettings, FeedLine, GuildStatus
from bot.delivery.render import escape_markdown, linked_title, truncate
from bot.follow_service import LATEST_PAGE_SIZE, AlertChoice, FollowResult, LatestLine, LatestPage


def relative_age(at: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


REPLY_LIMIT = 1900  # of Discord's 2,000 characters a message


def latest_lines(page: LatestPage, now: datetime | None = None) -> str:
    if not page.lines:
        if not page.queries:
            return "You follow nothing in this channel yet. Try `/latest query:kim kanye` or `/follow`."
        return "No stored article matches " + ", ".join(f"`{q}`" for q in page.queries) + " yet."
    return _fitting(_article_lines(page.lines, 1 + page.page * LATEST_PAGE_SIZE, now))


def follow_reply(result: FollowResult, *, delivery: str, dm: bool, now: datetime | None = None) -> str:
    """The /follow confirmation, with the newest stored articles the follow matches, so a
    member sees at once whether the query catches what they meant."""
    verb = "Following" if result.created else "You already follow"
    how = "" if delivery == "instant" else f" as a {delivery} digest"
    where = "by direct message" if dm else "here"
    head = f"✅ {verb} `{result.query}` in this channel{how}. New matching articles will reach you {where}."
    if not result.recent:
        return f"{head}\nNo stored article matches it yet."
    return _fitting([head, "The newest it would have caught:", *_article_lines(result.recent, 1, now)])


def alert_choices_text(choices: Sequence[AlertChoice], *, done: str | None = None) -> str:
    """What an alert's follow button shows the member who clicked it (privately)."""
    lines = [done] if done else []
    lines.append("This alert matched:")
    lines += [f"• `{c.query}`{' (you follow it here)' if c.following else ''}" for c in choices]
    return _fitting(lines)


def _article_lines(lines: Sequence[LatestLine], first: int, now: datetime | None) -> list[str]:
    out = []
    for number, line in enumerate(lines, start=first):
        title = truncate(escape_markdown(line.title), 150)
        linked = linked_title(title, line.link)
        mark = " ✅" if line.alerted_here else ""
        story = f" · +{line.more} more on this story" if line.more else ""
        thread = f" · <#{line.thread_id}>" if line.thread_id else ""
        age = relative_age(line.at, now)
        out.append(f"{number}. {linked} — {escape_markdown(line.source)}, {age}{mark}{story}{thread}")
    return out


def _fitting(lines: list[str]) -> str:
    """Whole lines while they fit the reply (a cut would break a masked link); the first
    line always, cut if it must be."""
    kept = [truncate(lines[0], REPLY_LIMIT)]
    used = len(kept[0])
    for line in lines[1:]:
        used += 1 + len(line)
        if used > REPLY_LIMIT:
            break
        kept.append(line)
    return "\n".join(kept)


def follows_lines(rows: list[tuple[int, str, str, bool]], *, here: int | None) -> str:
    if not rows:
        return "No follows here yet. Add one with `/follow query:kim kanye`."
    parts = []
    for channel_id, query, delivery, dm in rows:
        extra = [] if delivery == "instant" else [delivery]
        if dm:
            extra.append("DM")
        where = "" if here == channel_id else f" in <#{channel_id}>"
        suffix = f" ({', '.join(extra)})" if extra else ""
        parts.append(f"• `{query}`{where}{suffix}")
    return truncate("\n".join(parts), 1900)


def _when(at: datetime | None, now: datetime | None = None) -> str:
    return "never" if at is None else f"<t:{int(at.timestamp())}:R>"


def feed_lines(lines: list[FeedLine], *, page: int, per_page: int) -> str:
    if not lines:
        return "This server sees no feeds yet. Add one with `/feeds add` or `/feeds catalog`."
    pages = max(1, -(-len(lines) // per_page))
    page = min(page, pages)
    out = [f"**Feeds this server sees** (page {page}/{pages}, {len(lines)} in all)"]
    kinds = {"config": "global", "server": "this server", "search": "search"}
    for line in lines[(page - 1) * per_page : page * per_page]:
        state = "✅" if line.enabled and not line.last_error else ("⚠️" if line.enabled else "⛔")
        out.append(f"{state} **{escape_markdown(line.name)}** ({kinds.get(line.kind, line.kind)}) <{line.url}>")
        detail = f"  last success {_when(line.last_success_at)}"
        if line.enabled:
            detail += f", next poll {_when(line.next_poll_at)}"
        if line.last_error:
            detail += f", last error: {escape_markdown(truncate(line.last_error, 120))}"
        if not line.enabled and line.disabled_reason:
            detail += f", disabled: {escape_markdown(truncate(line.disabled_reason, 120))}"
        out.append(detail)
    return truncate("\n".join(out), 1990)


def settings_text(current: EffectiveSettings) -> str:
    channels = ", ".join(f"<#{c}>" for c in current.allowed_channel_ids) or "every channel"
    return "\n".join(
        [
            "**Storywatch settings for this server**",
            f"Story mode: `{current.story_mode}`",
            f"Flood cap: {current.max_per_window} alerts per {current.window_seconds / 60:g} min per channel",
            f"Quiet hours: {current.quiet_hours or 'off'} ({current.timezone})",
            f"Search feeds: {'on' if current.search_feeds else 'off'}",
            "Alerts arriving together: "
            + (f"one message, up to {current.bundle_max}" if current.bundle_max > 1 else "one message each"),
            f"Follow / unfollow button on alerts: {'on' if current.alert_buttons else 'off'}",
            f"Follows allowed in: {channels}",
        ]
    )


def status_text(status: GuildStatus) -> str:
    out = [
        "**Storywatch status**",
        f"Follows: {status.follows_total}"
        + (
            " (" + ", ".join(f"<#{c}>: {n}" for c, n in status.follows_by_channel[:15]) + ")"
            if status.follows_by_channel
            else ""
        ),
        f"Last alert: {_when(status.last_alert_at)}",
        f"Queue: {status.queue_length} waiting, {status.held} held for a summary, {status.missed} missed while paused",
    ]
    failing = [f for f in status.feeds if f.last_error or not f.enabled]
    out.append(f"Feeds: {len(status.feeds)} seen, {len(failing)} failing or disabled")
    for feed in failing[:8]:
        reason = feed.disabled_reason if not feed.enabled else feed.last_error
        out.append(f"  ⚠️ {escape_markdown(feed.name)}: {escape_markdown(truncate(reason or '', 150))}")
    if status.paused:
        out.append("Paused channels:")
        out += [f"  ⏸️ <#{c}> since {_when(at)}: {escape_markdown(reason)}" for c, reason, at in status.paused]
    else:
        out.append("Paused channels: none")
    return truncate("\n".join(out), 1990)
