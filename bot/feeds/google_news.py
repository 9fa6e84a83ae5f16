"""Publisher article URLs behind Google News and Google redirect links, decoded offline.

Google News search feeds link every item to news.google.com/rss/articles/<id>. Older
ids ("CBMi...") are base64url protobuf messages that contain the publisher's URL in
clear; newer ids (protobuf holding an opaque "AU_yqL..." token) can only be resolved
by asking Google, which we never do from the parser, so those yield None. Google
Alerts and old Google News links are redirects (google.com/url?url=...) that carry the
target in a query parameter.
"""

from __future__ import annotations

import base64
import binascii
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

from bot.feeds.links import absolute_http_url

_ARTICLE_PATH = re.compile(r"/(?:rss/)?(?:articles|read)/([A-Za-z0-9_-]+)")
_NEWS_HOSTS = frozenset({"news.google.com"})
_REDIRECT_HOSTS = frozenset({"www.google.com", "google.com", "news.google.com"})
_REDIRECT_PATHS = frozenset({"/url", "/news/url"})
# The decoded id never needs to be longer than a URL plus an AMP URL.
_MAX_ID_LENGTH = 8192


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    """(value, next position) of the protobuf varint at ``position``."""
    value = 0
    for shift in range(0, 64, 7):
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise ValueError("varint too long")


def _length_delimited_fields(data: bytes) -> list[bytes]:
    """The bytes of every length-delimited (wire type 2) top-level protobuf field."""
    fields: list[bytes] = []
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        wire_type = key & 0x7
        if wire_type == 0:
            _, position = _read_varint(data, position)
        elif wire_type == 2:
            length, position = _read_varint(data, position)
            if position + length > len(data):
                raise ValueError("truncated field")
            fields.append(data[position : position + length])
            position += length
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    return fields


def _decode_article_id(article_id: str) -> str | None:
    if len(article_id) > _MAX_ID_LENGTH:
        return None
    try:
        payload = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
        fields = _length_delimited_fields(payload)
    except (binascii.Error, ValueError):
        return None
    # The first field that is a URL is the article; a later one is its AMP version.
    for field in fields:
        if field.startswith((b"http://", b"https://")):
            try:
                return absolute_http_url(field.decode("utf-8"), None)
            except UnicodeDecodeError:
                return None
    return None


def _redirect_target(parts_query: str) -> str | None:
    for name, value in parse_qsl(parts_query):
        if name in ("url", "q") and value.startswith(("http://", "https://")):
            return absolute_http_url(value, None)
    return None


def _decode_google_link(link: str) -> str | None:
    """The publisher URL inside one Google link, or None."""
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host in _REDIRECT_HOSTS and parts.path in _REDIRECT_PATHS:
        return _redirect_target(parts.query)
    if host in _NEWS_HOSTS:
        match = _ARTICLE_PATH.match(parts.path)
        if match:
            return _decode_article_id(match.group(1))
    return None


def is_google_link(link: str) -> bool:
    """Whether ``link`` points at Google News or a Google redirect (not a publisher)."""
    try:
        host = (urlsplit(link.strip()).hostname or "").lower()
    except ValueError:
        return False
    return host in _NEWS_HOSTS or host in _REDIRECT_HOSTS


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _anchor_hrefs(html: str) -> list[str]:
    collector = _AnchorCollector()
    try:
        collector.feed(html)
        collector.close()
    except AssertionError:  # CPython's _markupbase on broken declarations ("<![0")
        pass  # keep the anchors found before the breakage
    return collector.hrefs


def publisher_url(item_link: str, description_html: str | None = None) -> str | None:
    """The publisher's article URL for a Google News / Google redirect item, if offline
    decoding finds one; None for other links and for opaque (newer) Google News ids.

    The description's first anchor is tried too: it is the same article, sometimes in
    an older, decodable form, or a direct publisher link.
    """
    if not is_google_link(item_link):
        return None
    decoded = _decode_google_link(item_link)
    if decoded is not None or not description_html:
        return decoded
    for href in _anchor_hrefs(description_html)[:1]:
        if is_google_link(href):
            return _decode_google_link(href)
        return absolute_http_url(href, None)
    return None
