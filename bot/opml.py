"""OPML import and export: the feed lists other readers hand out and accept.

Import takes an uploaded file from a server member, so it is parsed with
``defusedxml`` (no entity expansion, no external references: XXE and entity bombs
are refused) after a size check, and the number of feed entries is capped. URLs
that are not usable http(s) feed URLs are skipped and reported, not fatal.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building only; parsing goes through defusedxml
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from defusedxml import DefusedXmlException, EntitiesForbidden  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as defused_fromstring  # type: ignore[import-untyped]

from bot.errors import InvalidFeedURL, OpmlError
from bot.fetch.netguard import validate_feed_url

MAX_NAME_LENGTH = 200

_WHITESPACE = re.compile(r"\s+")
# Characters XML 1.0 cannot carry at all; dropped on export so the output always parses.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class OpmlImport:
    feeds: list[OpmlFeed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # xmlUrl values that are not http(s) URLs


def parse_opml(data: bytes, *, max_bytes: int = 1_000_000, max_entries: int = 500) -> OpmlImport:
    """Read the feeds from an OPML document, nested folders included.

    Every outline with an ``xmlUrl`` (any letter case) is a feed entry; entries past
    ``max_entries`` (skipped ones included) refuse the whole file. Feed URLs are
    normalized and repeated URLs are kept once. Raises OpmlError with a message for
    the member.
    """
    if len(data) > max_bytes:
        raise OpmlError(f"the OPML file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    root = _parse_xml(data)
    if _local_name(root.tag) != "opml":
        raise OpmlError(f"this is not an OPML file (its root element is <{_local_name(root.tag)}>, not <opml>)")
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("the OPML file has no <body> element")

    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    seen: set[str] = set()
    entries = 0
    for outline in _outlines(body):
        raw_url = _attribute(outline, "xmlurl")
        if raw_url is None or not raw_url.strip():
            continue  # a folder or a plain text outline
        entries += 1
        if entries > max_entries:
            raise OpmlError(f"the OPML file lists more than {max_entries} feeds")
        raw_url = raw_url.strip()
        try:
            url = validate_feed_url(raw_url)
        except InvalidFeedURL:
            skipped.append(raw_url)
            continue
        if url in seen:
            continue
        seen.add(url)
        feeds.append(OpmlFeed(name=_feed_name(outline, url), url=url))
    return OpmlImport(feeds=feeds, skipped=skipped)


def export_opml(feeds: Sequence[OpmlFeed], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``feeds`` as flat rss outlines."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_safe(title)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = _xml_safe(feed.name)
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=_xml_safe(feed.url))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _parse_xml(data: bytes) -> ET.Element:
    if not data.strip():
        raise OpmlError("the OPML file is empty")
    try:
        root: ET.Element = defused_fromstring(data)
    except EntitiesForbidden:
        raise OpmlError("the OPML file declares XML entities, which are refused for safety") from None
    except DefusedXmlException:
        raise OpmlError("the OPML file refers to external XML resources, which are refused for safety") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise OpmlError(f"the OPML file is not well-formed XML (line {line}, column {column})") from None
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding name
        raise OpmlError(f"the OPML file cannot be read as XML ({exc})") from None
    return root


def _outlines(body: ET.Element) -> Iterator[ET.Element]:
    """Outlines in document order, depth first, without recursion (nesting is unbounded)."""
    stack = [iter(body)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if _local_name(child.tag) == "outline":
            yield child
            stack.append(iter(child))


def _attribute(element: ET.Element, lower_name: str) -> str | None:
    exact = element.attrib.get(lower_name)
    if exact is not None:
        return exact
    for key, value in element.attrib.items():
        if _local_name(key).lower() == lower_name:
            return value
    return None


def _feed_name(outline: ET.Element, url: str) -> str:
    for attribute in ("title", "text"):
        value = _attribute(outline, attribute)
        name = _WHITESPACE.sub(" ", value or "").strip()
        if name:
            return name if len(name) <= MAX_NAME_LENGTH else name[: MAX_NAME_LENGTH - 1] + "…"
    return urlsplit(url).hostname or url


def _local_name(tag: object) -> str:
    # Comments and processing instructions have a function as their tag.
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _xml_safe(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)
