"""Text for command replies (alerts themselves are rendered in bot/delivery/render.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery.render import escape_markdown, linked_title, truncate
from bot.follow_service import LatestPage


def relative_age(at: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def latest_lines(page: LatestPage, now: datetime | None = None) -> str:
    if not page.lines:
        if not page.queries:
            return "You follow nothing in this channel yet. Try `/latest query:kim kanye` or `/follow`."
        return "No stored article matches " + ", ".join(f"`{q}`" for q in page.queries) + " yet."
    out = []
    for number, line in enumerate(page.lines, start=1 + page.page * len(page.lines)):
        title = truncate(escape_markdown(line.title), 150)
        linked = linked_title(title, line.link)
        mark = " ✅" if line.alerted_here else ""
        out.append(
            f"{number}. {linked} — {escape_markdown(line.source)}, {relative_age(line.at, now)}{mark}"
        )
    text = "\n".join(out)
    return truncate(text, 1900)


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
