"""Pure rendering of alerts into Discord message payloads (plain dicts, no discord import).

Feed text is untrusted: markdown is escaped before matched words are bolded, mention
syntax is defused, masked links are never produced from feed text, and every length
respects Discord's limits after escaping (cut on a word boundary with an ellipsis).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000  # all of a message's embeds together
EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
THREAD_NAME_LIMIT = 100
SNIPPET_CHARS = 350
EMBED_COLOR = 0x2B6CB0

_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
# Headers, block quotes and lists only mean something at the start of a line.
_LINE_START = re.compile(r"^(\s*)(#{1,3} |>|-# |- |\d+\. )", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")


def escape_markdown(text: str) -> str:
    """Escape Discord markdown and defuse mention syntax in untrusted text."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    escaped = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)
    # A zero-width space after '@' keeps the text readable but never a mention.
    return _MENTION.sub(lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<\u200b#"), escaped)


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters on a word boundary, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    # Never leave a dangling escape backslash or half a bold marker.
    cut = cut.rstrip("\\ *")
    return cut + "…"


def bold_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escape ``text`` and wrap the given character spans of the ORIGINAL text in **bold**."""
    out: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position or start >= end:
            continue
        out.append(escape_markdown(text[position:start]))
        out.append("**" + escape_markdown(text[start:end]) + "**")
        position = end
    out.append(escape_markdown(text[position:]))
    return "".join(out)


def snippet_of(summary: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(summary.split())
    if len(text) <= limit:
        return text
    return truncate(text, limit)


@dataclass(frozen=True)
class ArticleView:
    title: str
    link: str | None
    summary: str
    source: str  # feed or publisher name
    author: str | None
    published: datetime | None
    image: str | None
    queries: tuple[str, ...]  # the follows that matched, normalized


def thread_name(headlines: Sequence[str]) -> str:
    """The name of a first alert's thread: its story's headline; when the message opened
    several stories (a bundle), which all gather there, how many and their headlines.
    Plain text: Discord shows thread names as written (no markdown, no mentions)."""
    titles = [t for t in (" ".join(h.split()) for h in headlines) if t]  # "": no longer stored
    if len(headlines) <= 1:
        return truncate(titles[0], THREAD_NAME_LIMIT) if titles else "More coverage"
    return truncate(f"More on {len(headlines)} stories: " + " · ".join(titles), THREAD_NAME_LIMIT)


def story_label(headline: str) -> str:
    """The line over a post in a thread several stories share: the story it continues."""
    return "More on: " + truncate(escape_markdown(" ".join(headline.split())), 200)


def mention_line(user_ids: Sequence[int]) -> str:
    return " ".join(f"<@{uid}>" for uid in user_ids)


def split_mentions(user_ids: Sequence[int], limit: int = CONTENT_LIMIT) -> list[list[int]]:
    """Chunks of member ids whose mention lines each fit one message's content."""
    chunks: list[list[int]] = [[]]
    length = 0
    for uid in user_ids:
        piece = len(f"<@{uid}>") + 1
        if chunks[-1] and length + piece > limit:
            chunks.append([])
            length = 0
        chunks[-1].append(uid)
        length += piece
    return chunks if chunks[0] else []


def render_embed(
    article: ArticleView,
    *,
    title_spans: Sequence[tuple[int, int]] = (),
    summary_spans: Sequence[tuple[int, int]] = (),
    extra_footer: str = "",
) -> dict[str, object]:
    """The alert embed as Discord's JSON shape."""
    embed: dict[str, object] = {
        "type": "rich",
        "title": truncate(escape_markdown(article.title) or "(untitled)", TITLE_LIMIT),
        "color": EMBED_COLOR,
    }
    if article.link:
        embed["url"] = article.link
    snippet = snippet_of(article.summary)
    description = truncate(bold_spans(snippet, summary_spans) if summary_spans else escape_markdown(snippet), 1000)
    if article.published is not None:
        stamp = int(article.published.timestamp())
        description = (description + "\n\n" if description else "") + f"Published <t:{stamp}:R>"
    if description:
        embed["description"] = truncate(description, DESCRIPTION_LIMIT)
    author = article.source if not article.author else f"{article.source} · {article.author}"
    embed["author"] = {"name": truncate(author, AUTHOR_LIMIT)}
    if article.published is not None:
        embed["timestamp"] = article.published.isoformat()
    if article.image:
        embed["thumbnail"] = {"url": article.image}
    footer = "Matched: " + ", ".join(article.queries) if article.queries else "Storywatch"
    if extra_footer:
        footer = f"{footer} · {extra_footer}"
    embed["footer"] = {"text": truncate(footer, FOOTER_LIMIT)}
    return embed


def nonce_for(delivery_id: int, part: int = 0) -> str:
    """A stable nonce (<= 25 chars) so Discord drops a re-send of the same message part."""
    return f"sw{delivery_id:x}p{part}"[:25]


def bundle_nonce(delivery_ids: Sequence[int], part: int = 0) -> str:
    """The nonce of one message carrying several deliveries: from all of their ids, so a
    re-send of the same bundle is dropped by Discord, while a bundle made up differently
    after a crash (a row had become later coverage, say) is a new message."""
    if len(delivery_ids) == 1:
        return nonce_for(delivery_ids[0], part)
    digest = hashlib.blake2b(" ".join(map(str, delivery_ids)).encode(), digest_size=8).hexdigest()
    return f"swb{digest}p{part}"[:25]


def embed_length(embed: dict[str, object]) -> int:
    """The characters Discord counts against a message's 6,000 for all embeds together."""
    total = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    for part, key in (("footer", "text"), ("author", "name")):
        value = embed.get(part)
        if isinstance(value, dict):
            total += len(str(value.get(key, "")))
    return total


def link_host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").removeprefix("www.")


def linked_title(escaped_title: str, link: str | None) -> str:
    """A masked link that shows its real host beside it, so feed text can't disguise it."""
    if not link:
        return escaped_title
    return f"[{escaped_title}](<{link}>) ({escape_markdown(link_host(link))})"


def render_summary(lines: Sequence[tuple[str, str | None, str]], *, limit: int = CONTENT_LIMIT) -> str:
    """The message for alerts held back by the flood cap: links only, pings nobody."""
    head = f"📰 {len(lines)} more matching article{'s' if len(lines) != 1 else ''} arrived in a burst:"
    out = [head]
    used = len(head)
    for index, (title, link, source) in enumerate(lines):
        name = truncate(escape_markdown(title), 120)
        entry = f"• {linked_title(name, link)} — {escape_markdown(source)}"
        rest = len(lines) - index
        tail = f"\n…and {rest} more" if rest else ""
        if used + len(entry) + 1 + len(tail) + 20 > limit:
            out.append(f"…and {rest} more")
            break
        out.append(entry)
        used += len(entry) + 1
    return "\n".join(out)


def render_digest(
    period: str,
    queries: Sequence[str],
    stories: Sequence[Sequence[tuple[str, str | None, str]]],
    *,
    mention: int | None,
    limit: int = CONTENT_LIMIT,
) -> str:
    """A digest: one line per story (its first headline, +N more outlets), newest first."""
    count = sum(len(s) for s in stories)
    who = f"<@{mention}> " if mention else ""
    follows = ", ".join(f"`{q}`" for q in queries)
    articles = f"{count} article{'s' if count != 1 else ''}"
    in_stories = f"{len(stories)} stor{'ies' if len(stories) != 1 else 'y'}"
    head = f"{who}📬 Your {period} digest for {follows}: {articles} in {in_stories}."
    out, used = [head], len(head)
    for index, story in enumerate(stories):
        title, link, source = story[0]
        more = f" (+{len(story) - 1} more)" if len(story) > 1 else ""
        entry = f"• {linked_title(truncate(escape_markdown(title), 120), link)} — {escape_markdown(source)}{more}"
        if used + len(entry) + 30 > limit:
            out.append(f"…and {len(stories) - index} more stories")
            break
        out.append(entry)
        used += len(entry) + 1
    return "\n".join(out)
