"""The feedparser adapter: feed bytes in, our own ParsedFeed out.

This is the only module that imports feedparser. ``parse_feed`` is a plain top-level
function of bytes and values, so it can run in a ProcessPoolExecutor; it does no I/O.
feedparser is handed a BytesIO (never bytes or str, which it may treat as a path or
URL to open). The DTD is neutralized (see bot.feeds.sanitize) on the text exactly as
feedparser will read it: the body is first decoded by feedparser's own encoding
detection, so no encoding trick (BOM-less UTF-16, EBCDIC, a charset header) can show
the sanitizer one document and the parser another.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from bot.errors import FeedParseError
from bot.feeds.dates import clamp_future, parse_date_text, plausible
from bot.feeds.dedup import guids_look_stable
from bot.feeds.google_news import is_google_link, publisher_url
from bot.feeds.gzip_body import DEFAULT_MAX_DECOMPRESSED_BYTES, gunzip_if_compressed
from bot.feeds.images import first_img_src, is_image_media
from bot.feeds.links import absolute_http_url
from bot.feeds.model import ParsedFeed, ParsedItem
from bot.feeds.sanitize import neutralize_dtd
from bot.feeds.text import clean_text, first_words, html_to_text
from bot.feeds.ttl import ttl_seconds

# A clock this far ahead of ours is a fast clock; further than that, a future date.
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=10)
# Words of the summary used as a title when an item has none.
TITLE_FALLBACK_WORDS = 12
# feedparser flags these on perfectly usable documents (no Content-Type, or a charset
# that disagrees with the XML declaration); they do not make a feed malformed.
_HARMLESS_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)

_FeedDict = Mapping[str, Any]


def _field(source: _FeedDict, key: str) -> Any:
    """``source[key]`` or None, read through ``dict.get``: feedparser's own dicts alias
    keys ("updated" falls back to "published" with a DeprecationWarning)."""
    return dict.get(source, key) if isinstance(source, dict) else None


def _string(source: _FeedDict, key: str) -> str | None:
    value = _field(source, key)
    return value if isinstance(value, str) else None


def _is_html(detail: Any) -> bool:
    kind = _field(detail, "type") or ""
    return isinstance(kind, str) and "html" in kind


def _plain(source: _FeedDict, key: str) -> str:
    """A text construct (title, summary...) as plain text, whatever its declared type."""
    value = _string(source, key)
    if not value:
        return ""
    return html_to_text(value) if _is_html(_field(source, f"{key}_detail")) else clean_text(value)


def _optional_text(value: Any) -> str | None:
    return (clean_text(value) or None) if isinstance(value, str) else None


def _struct_to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _date(entry: _FeedDict, key: str, now: datetime, tolerance: timedelta) -> datetime | None:
    # Our strict parser first: feedparser "succeeds" wrongly on some formats.
    parsed = parse_date_text(_string(entry, key))
    if parsed is None:
        parsed = plausible(_struct_to_datetime(_field(entry, f"{key}_parsed")))
    return clamp_future(parsed, now, tolerance)


def _html_sources(entry: _FeedDict) -> list[str]:
    sources = [_string(entry, "summary") or ""]
    for content in _field(entry, "content") or ():
        sources.append(_string(content, "value") or "")
    return [html for html in sources if html]


def _summary(entry: _FeedDict) -> str:
    summary = _plain(entry, "summary")
    if summary:
        return summary
    for content in _field(entry, "content") or ():
        value = _string(content, "value") or ""
        text = html_to_text(value) if _is_html(content) else clean_text(value)
        if text:
            return text
    return ""


def _image_candidates(entry: _FeedDict) -> Iterator[str]:
    """Image URLs in order of preference; lazy, so the HTML is only searched if needed."""
    for media in _field(entry, "media_content") or ():
        url = _string(media, "url")
        if url and is_image_media(url, _string(media, "type"), _string(media, "medium")):
            yield url
    for thumbnail in _field(entry, "media_thumbnail") or ():
        if url := _string(thumbnail, "url"):
            yield url
    for link in _field(entry, "links") or ():
        href = _string(link, "href")
        kind = (_string(link, "type") or "").lower()
        if href and _string(link, "rel") == "enclosure" and kind.startswith("image/"):
            yield href
    for html in _html_sources(entry):
        if src := first_img_src(html):
            yield src


def _image(entry: _FeedDict, base: str) -> str | None:
    for candidate in _image_candidates(entry):
        resolved = absolute_http_url(candidate, base)
        if resolved:
            return resolved
    return None


def _author(entry: _FeedDict) -> str | None:
    detail = _field(entry, "author_detail")
    return _optional_text(_field(detail, "name")) or _optional_text(_field(entry, "author"))


def _categories(entry: _FeedDict) -> tuple[str, ...]:
    names: dict[str, None] = {}  # ordered set
    for tag in _field(entry, "tags") or ():
        name = _optional_text(_field(tag, "term")) or _optional_text(_field(tag, "label"))
        if name:
            names.setdefault(name, None)
    return tuple(names)


def _has_link_element(entry: _FeedDict) -> bool:
    return any(_string(link, "rel") == "alternate" for link in _field(entry, "links") or ())


def _item(entry: _FeedDict, base: str, now: datetime, tolerance: timedelta) -> ParsedItem | None:
    """The item for one entry, or None when it has neither a title nor a link (the
    summary's first words stand in for a missing title)."""
    # Without a <link>, feedparser copies a "permalink" guid into ``link``; a guid like
    # "12345" is no link at all, so a copied one must already be absolute.
    link_base = base if _has_link_element(entry) else None
    link = absolute_http_url(_string(entry, "link"), link_base)
    summary = _summary(entry)
    title = _plain(entry, "title") or first_words(summary, TITLE_FALLBACK_WORDS)
    if not title:
        if link is None:
            return None
        title = link
    updated = _date(entry, "updated", now, tolerance)
    published = _date(entry, "published", now, tolerance) or updated
    source = _field(entry, "source")
    source_url = None
    if link and is_google_link(link):
        source_url = publisher_url(link, _string(entry, "summary"))
    return ParsedItem(
        title=title,
        link=link,
        guid=_optional_text(_field(entry, "id")),
        published=published,
        updated=updated,
        summary=summary,
        author=_author(entry),
        categories=_categories(entry),
        image=_image(entry, base),
        source=_optional_text(_field(source, "title")),
        source_url=source_url,
    )


def _looks_like_html(body: bytes) -> bool:
    head = body[:4096].lower()
    return b"<html" in head or b"<!doctype html" in head


def _serious_problem(result: _FeedDict) -> BaseException | None:
    problem = _field(result, "bozo_exception") if _field(result, "bozo") else None
    if isinstance(problem, BaseException) and not isinstance(problem, _HARMLESS_BOZO):
        return problem
    return None


def _as_feedparser_reads_it(body: bytes, content_type: str | None) -> tuple[bytes, _FeedDict]:
    """``body`` decoded the way feedparser.parse decodes it, re-encoded as UTF-8 with a
    matching XML declaration, and feedparser's notes on the decoding (encoding, bozo)."""
    headers = {"content-type": content_type} if content_type else {}
    decoding: dict[str, Any] = {}
    return convert_to_utf8(headers, body, decoding), decoding


def _reject_unusable(result: _FeedDict, body: bytes) -> None:
    """Raise FeedParseError unless the document is a feed (an empty one is fine)."""
    if _field(result, "entries"):
        return
    problem = _serious_problem(result)
    if not _field(result, "version"):
        if _looks_like_html(body):
            raise FeedParseError("not a feed: the document is an HTML page")
        reason = f" ({problem})" if problem else ""
        raise FeedParseError(f"not a feed: no RSS, Atom or RDF document found{reason}")
    if problem is not None:
        raise FeedParseError(f"malformed feed with no readable items: {problem}")


def parse_feed(
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    content_type: str | None = None,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> ParsedFeed:
    """Parse one fetched feed document.

    ``url`` is the document's URL (base for relative links), ``fetched_at`` an aware
    datetime (dates later than it plus ``future_tolerance`` are clamped to it), and
    ``content_type`` the HTTP Content-Type, whose charset feedparser honours. A body
    that is itself a gzip file is decompressed up to ``max_decompressed_bytes``.

    Raises FeedParseError when the document yields nothing usable: empty, not a feed
    (e.g. an HTML page), too large once decompressed, or malformed with no items. A
    well-formed feed with no items is returned with ``items=()``.
    """
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    now = fetched_at.astimezone(UTC)
    body = gunzip_if_compressed(body, max_bytes=max_decompressed_bytes)
    if not body.strip():
        raise FeedParseError("empty document")
    try:
        text, decoding = _as_feedparser_reads_it(body, content_type)
        # No Content-Location header: feedparser would resolve relative guids against it
        # (a moved feed would change every guid) and hide which links came from guids.
        # It still applies xml:base; we resolve what stays relative against ``url``.
        # Item HTML only ever becomes plain text (bot.feeds.text drops scripts, styles
        # and every tag), so feedparser's HTML sanitizer and its rewriting of relative
        # URIs inside that HTML are work whose result we would throw away; links and
        # images are resolved by us against the item's base.
        result = feedparser.parse(io.BytesIO(neutralize_dtd(text)), sanitize_html=False, resolve_relative_uris=False)
    except Exception as error:
        # A crash inside feedparser is this document's problem, not the caller's:
        # 6.0.14 raises e.g. UnicodeDecodeError or ValueError for a non-ASCII or NUL
        # byte inside the XML declaration's encoding name.
        raise FeedParseError(f"unreadable document ({type(error).__name__}: {error})") from error
    _reject_unusable(result, body)

    items: list[ParsedItem] = []
    skipped = 0
    for entry in _field(result, "entries") or ():
        item = _item(entry, url, now, future_tolerance)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    if _field(result, "entries") and not items:
        raise FeedParseError(f"none of the feed's {skipped} items has a title or a link")

    feed = _field(result, "feed") or {}
    problem = _serious_problem(result) or _serious_problem(decoding)
    extra = {
        "format": str(_field(result, "version") or ""),
        "encoding": str(_field(decoding, "encoding") or ""),
    }
    if problem is not None:
        extra["warning"] = clean_text(str(problem))[:300]
    return ParsedFeed(
        title=_plain(feed, "title"),
        link=absolute_http_url(_string(feed, "link"), url),
        items=tuple(items),
        skipped=skipped,
        ttl_seconds=ttl_seconds(
            _string(feed, "ttl"),
            _string(feed, "sy_updateperiod"),
            _string(feed, "sy_updatefrequency"),
        ),
        guid_stable=guids_look_stable([item.guid for item in items]),
        extra=extra,
    )
