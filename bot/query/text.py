"""Turn text into the normalized words that queries and articles are compared by.

One pipeline serves both sides, so a query word and an article word are equal exactly
when a reader would call them the same word:

* case-insensitive (``casefold``), compatibility forms folded (``ﬁ`` → ``fi``, ``²`` → ``2``,
  full-width letters), accents stripped (``Beyoncé`` → ``beyonce``);
* words are runs of letters and digits; everything else (spaces, punctuation, hyphens,
  emoji, symbols, ``_``) separates words, so ``Jay-Z`` is ``jay`` ``z``;
* straight and curly apostrophes are one character; a possessive is dropped:
  ``Kim's`` → ``kim`` and ``Kims'`` → ``kim`` (the plural possessive ``Kardashians'``
  also keeps ``kardashians`` as an alternative form, see :class:`Token`), while the plain
  plural ``Kims`` stays ``kims``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

# Every character a reader would take for an apostrophe, mapped to "'" (one char to one
# char, so offsets into the original text stay valid).
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u02bb\u00b4\u2032\uff07", "'"))


def _combining_mark_class() -> str:
    """A regex character class body holding every combining mark (categories M*)."""
    ranges: list[tuple[int, int]] = []
    for code in [*range(0x30000), *range(0xE0100, 0xE01F0)]:
        if unicodedata.category(chr(code))[0] != "M":
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges
    )


_MARKS = _combining_mark_class()
# A word starts with a letter or digit and may continue with combining marks, so a
# decomposed "é" (e + U+0301) does not split a word. Apostrophes inside a raw word are
# kept here and handled by _apostrophe_forms (possessives).
_WORD_CHAR = rf"(?:[^\W_]|[{_MARKS}])"
_RAW_WORD_RE = re.compile(rf"[^\W_]{_WORD_CHAR}*(?:'[^\W_]{_WORD_CHAR}*)*'?")
_ASCII_RAW_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*'?")  # the same, for lowercase ASCII
_NORMALIZED_WORD_RE = re.compile(rf"[^\W_]{_WORD_CHAR}*")
_DROPPED_CATEGORIES = frozenset({"Mn", "Me"})  # accents; spacing marks (Mc) carry meaning


class Token(NamedTuple):
    """One normalized word and where it came from in the original text.

    ``alternate`` is set only for a plural possessive (``Kardashians'``): the primary
    ``text`` is the stem without the s (``kardashian``) and ``alternate`` keeps the
    plural (``kardashians``); both count as the word at this position.
    """

    text: str
    start: int
    end: int
    alternate: str | None = None


def normalize_word(s: str) -> str:
    """Fold case, compatibility forms, accents and apostrophes of ``s``.

    Does not split or drop possessives: ``normalize_word("Beyoncé's")`` is
    ``"beyonce's"``. Use :func:`tokenize` to get words.
    """
    if s.isascii():
        return s.lower()  # casefold == lower for ASCII; this is the hot path
    folded = unicodedata.normalize("NFKD", s.translate(_APOSTROPHES))
    folded = "".join(c for c in folded if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    # casefold can produce decomposable or accented characters again ("İ" → "i̇")
    folded = unicodedata.normalize("NFKD", folded.casefold())
    return "".join(c for c in folded if unicodedata.category(c) not in _DROPPED_CATEGORIES)


def _normalized_parts(raw: str) -> list[str]:
    """Words of one raw piece after normalization (folding can expose separators: ½ → 1⁄2)."""
    folded = normalize_word(raw)
    if folded.isascii() and folded.isalnum():
        return [folded]
    return _NORMALIZED_WORD_RE.findall(folded)


def _apostrophe_forms(raw: str) -> list[tuple[str, str | None]]:
    """Words of a raw word holding apostrophes: ``(primary, alternate)`` pairs."""
    plural_possessive = raw.endswith("'")
    pieces = raw.rstrip("'").split("'")
    if len(pieces) > 1 and normalize_word(pieces[-1]) == "s":
        pieces.pop()  # "Kim's": the 's is a possessive (or "is"), not a word
    words = [word for piece in pieces for word in _normalized_parts(piece)]
    forms: list[tuple[str, str | None]] = [(word, None) for word in words]
    if plural_possessive and words and len(words[-1]) > 1 and words[-1].endswith("s"):
        forms[-1] = (words[-1][:-1], words[-1])  # "Kims'": kim, also kims
    return forms


def scan(text: str) -> Iterator[Token]:
    """Yield the words of ``text`` in order, with their spans in the original ``text``."""
    unified = text.translate(_APOSTROPHES)
    for match in _RAW_WORD_RE.finditer(unified):
        raw = match.group()
        start, end = match.span()
        if "'" not in raw:  # the common case: no possessive to look at
            if raw.isascii():
                yield Token(raw.lower(), start, end)
            else:
                for word in _normalized_parts(raw):
                    yield Token(word, start, end)
            continue
        for word, alternate in _apostrophe_forms(raw):
            yield Token(word, start, end, alternate)


def word_forms(text: str) -> list[tuple[str, str | None]]:
    """``(word, alternate)`` for each word of ``text``: :func:`scan` without the spans.

    Faster for the common all-ASCII text, where it is what articles are matched by.
    """
    if not text.isascii():
        return [(token.text, token.alternate) for token in scan(text)]
    forms: list[tuple[str, str | None]] = []
    for raw in _ASCII_RAW_WORD_RE.findall(text.lower()):
        if "'" in raw:
            forms.extend(_apostrophe_forms(raw))
        else:
            forms.append((raw, None))
    return forms


def tokenize(text: str) -> list[str]:
    """The normalized words of ``text`` (primary forms only), in order."""
    return [token.text for token in scan(text)]
