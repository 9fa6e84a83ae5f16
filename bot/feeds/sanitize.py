"""Strip DTDs from a feed's prolog so entity tricks cannot reach the XML parser.

feedparser refuses external entities and billion-laughs, but its loose fallback parser
re-declares "safe" plain-text internal entities and expands them without limit: one
20 KB entity referenced 20,000 times becomes a 400 MB title. We therefore rebuild the
prolog (everything before the root element) without any DOCTYPE, comment or stray
declaration. Small plain-text entities whose total expansion stays within a budget are
re-declared, so a feed using ``&id;`` for a guid prefix still parses as written; every
other reference is left undefined, which both feedparser parsers survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Total characters that re-declared entities may add to the document when expanded.
DEFAULT_ENTITY_BUDGET = 64 * 1024
# A longer "entity" is not a shorthand for a guid prefix or a symbol; never keep it.
_MAX_ENTITY_VALUE = 1024

_DOCTYPE_OR_ENTITY = re.compile(r"<!\s*(?:doctype|entity)", re.IGNORECASE)
# Where the root element starts: "<" then an ASCII letter or "_". Deliberately narrower
# than feedparser's own head detection (``<\w``), so our prolog always covers its.
_ROOT_START = re.compile(r"<[A-Za-z_]")
_XML_DECLARATION = re.compile(r"<\?xml\s", re.IGNORECASE)
_ROOT_NAME = re.compile(r"<([A-Za-z_][\w.:-]*)")
# Inside a DOCTYPE: the characters that open or close something we must skip over.
_DOCTYPE_SPECIAL = re.compile(r"[\"'\[>]")
_SUBSET_SPECIAL = re.compile(r"[\"'\]]|<!--|<\?")
_ENTITY_DECL = re.compile(r"<!ENTITY\s+([A-Za-z_]\w*)\s+(?:\"([^\"]*)\"|'([^']*)')\s*>", re.IGNORECASE)
# Plain text, or a single character reference; never markup or other references.
_SAFE_ENTITY_VALUE = re.compile(r"[^&<>%\"]*|&#(?:x[0-9A-Fa-f]+|[0-9]+);")
_PREDEFINED_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})


@dataclass(frozen=True, slots=True)
class _Codec:
    """How the document's bytes map to text and back (``bom`` is re-attached)."""

    name: str
    bom: bytes


def _sniff_codec(body: bytes) -> _Codec:
    """The codec to read the prolog with.

    Any ASCII-compatible encoding (UTF-8, Latin-1, windows-125x, KOI8-R, GB2312...) is
    read as Latin-1: every byte maps to one character and back, and all the markup we
    look for is ASCII. Only UTF-16/32 need real decoding; they are found by BOM or by
    the zero bytes around the first "<".
    """
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xef\xbb\xbf", "latin-1"),
    )
    for bom, name in boms:
        if body.startswith(bom):
            return _Codec(name, bom)
    head = body[:4]
    if head == b"<\x00\x00\x00":
        return _Codec("utf-32-le", b"")
    if head == b"\x00\x00\x00<":
        return _Codec("utf-32-be", b"")
    if head[:2] == b"<\x00":
        return _Codec("utf-16-le", b"")
    if head[:2] == b"\x00<":
        return _Codec("utf-16-be", b"")
    return _Codec("latin-1", b"")


@dataclass(slots=True)
class _Prolog:
    """What the prolog scan found."""

    end: int  # index of the root element's "<", or len(text) when there is none
    declaration: str  # the "<?xml ...?>" declaration, if any
    instructions: list[str]  # other processing instructions (xml-stylesheet...)
    subsets: list[str]  # internal DTD subsets, for their entity declarations


def _skip_quoted(text: str, start: int) -> int:
    """Index just past the quoted literal opening at ``start`` (or the end of text)."""
    close = text.find(text[start], start + 1)
    return len(text) if close < 0 else close + 1


def _skip_past(text: str, start: int, terminator: str) -> int:
    found = text.find(terminator, start)
    return len(text) if found < 0 else found + len(terminator)


def _scan_internal_subset(text: str, start: int) -> int:
    """Index of the "]" closing the internal subset whose "[" is just before ``start``."""
    position = start
    while True:
        match = _SUBSET_SPECIAL.search(text, position)
        if match is None:
            return len(text)
        marker = match.group()
        if marker == "]":
            return match.start()
        if marker == "<!--":
            position = _skip_past(text, match.end(), "-->")
        elif marker == "<?":
            position = _skip_past(text, match.end(), "?>")
        else:
            position = _skip_quoted(text, match.start())


def _scan_doctype(text: str, start: int, subsets: list[str]) -> int:
    """Index just past the DOCTYPE declaration at ``start``; collects its subset."""
    position = start + 2
    while True:
        match = _DOCTYPE_SPECIAL.search(text, position)
        if match is None:
            return len(text)
        marker = match.group()
        if marker == ">":
            return match.end()
        if marker == "[":
            close = _scan_internal_subset(text, match.end())
            subsets.append(text[match.end() : close])
            position = close + 1
        else:
            position = _skip_quoted(text, match.start())


def _scan_prolog(text: str) -> _Prolog:
    prolog = _Prolog(end=len(text), declaration="", instructions=[], subsets=[])
    position = 0
    while position < len(text):
        position = text.find("<", position)
        if position < 0:
            break
        if _ROOT_START.match(text, position):
            prolog.end = position
            break
        if text.startswith("<?", position):
            end = _skip_past(text, position + 2, "?>")
            instruction = text[position:end]
            if "<!" in instruction:
                pass  # could smuggle "<!ENTITY" lines to feedparser's head regex: drop
            elif _XML_DECLARATION.match(instruction):
                # Only the first counts; a second one is invalid anywhere.
                prolog.declaration = prolog.declaration or instruction
            else:
                prolog.instructions.append(instruction)
            position = end
        elif text.startswith("<!--", position):
            position = _skip_past(text, position + 4, "-->")
        elif text[position : position + 9].upper() == "<!DOCTYPE":
            position = _scan_doctype(text, position, prolog.subsets)
        elif text.startswith("<!", position):
            position = _scan_doctype(text, position, [])  # stray declaration: drop it
        else:
            position += 1  # a lone "<" in junk before the root
    return prolog


def _safe_entities(subsets: list[str], body: str, budget: int) -> list[tuple[str, str]]:
    """Plain-text entities whose total expansion in ``body`` fits in ``budget``."""
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    spent = 0
    for subset in subsets:
        without_comments = re.sub(r"<!--.*?-->", "", subset, flags=re.DOTALL)
        for match in _ENTITY_DECL.finditer(without_comments):
            name = match.group(1)
            value = match.group(2) if match.group(2) is not None else match.group(3)
            if name in seen or name.lower() in _PREDEFINED_ENTITIES:
                continue
            seen.add(name)  # the first declaration of a name is the binding one
            if len(value) > _MAX_ENTITY_VALUE or not _SAFE_ENTITY_VALUE.fullmatch(value):
                continue
            cost = len(value) * body.count(f"&{name};")
            if spent + cost > budget:
                continue
            spent += cost
            kept.append((name, value))
    return kept


def neutralize_dtd(body: bytes, *, entity_budget: int = DEFAULT_ENTITY_BUDGET) -> bytes:
    """``body`` with its prolog rebuilt without DTDs; unchanged when it has none.

    The rebuilt prolog keeps the BOM, the XML declaration and harmless processing
    instructions, drops comments, DOCTYPEs and junk, and re-declares only the small
    plain-text entities described in the module docstring.
    """
    codec = _sniff_codec(body)
    text = body[len(codec.bom) :].decode(codec.name, errors="replace")
    prolog = _scan_prolog(text)
    if not _DOCTYPE_OR_ENTITY.search(text, 0, prolog.end):
        return body
    rest = text[prolog.end :]
    parts = [prolog.declaration] if prolog.declaration else []
    entities = _safe_entities(prolog.subsets, rest, entity_budget)
    if entities:
        root = _ROOT_NAME.match(rest)
        root_name = root.group(1) if root else "feed"
        # One declaration per line: feedparser's loose parser only finds them that way.
        declarations = "".join(f'<!ENTITY {name} "{value}">\n' for name, value in entities)
        parts.append(f"<!DOCTYPE {root_name} [\n{declarations}]>")
    parts.extend(prolog.instructions)
    parts.append(rest)
    return codec.bom + "\n".join(parts).encode(codec.name, errors="replace")
