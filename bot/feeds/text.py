"""Turn feed text (plain or HTML) into clean, single-line plain text."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# Control characters that str.split() does not already treat as whitespace, plus the
# BOM, lone surrogates and the two non-characters: they only ever show up as garbage.
_INVISIBLE_JUNK = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")

# Anything that still reads as a tag after decoding (double-escaped HTML decodes to
# literal "<p>"); comments, doctypes and processing instructions count too.
_TAG_LIKE = re.compile(r"<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", re.DOTALL)

# Elements whose text is never meant to be read.
_HIDDEN_ELEMENTS = frozenset({"script", "style", "template", "noscript", "head", "title"})

_HIDDEN_BLOCK = re.compile(r"<(script|style|template|noscript|head|title)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)

# Elements that separate words visually; without a space their texts would run together.
_BREAKING_ELEMENTS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "img", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td",
        "th", "tr", "ul",
    }
)  # fmt: skip

# Double-escaped HTML is decoded once per pass; real feeds never need more than two.
_MAX_HTML_PASSES = 3


def clean_text(text: str) -> str:
    """Drop control characters and collapse every run of whitespace into one space."""
    return " ".join(_INVISIBLE_JUNK.sub("", text).split())


class _TextCollector(HTMLParser):
    """Collects the readable text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_ELEMENTS:
            self._hidden_depth += 1
        elif tag in _BREAKING_ELEMENTS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKING_ELEMENTS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_ELEMENTS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BREAKING_ELEMENTS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def _strip_markup_roughly(html: str) -> str:
    without_hidden = _HIDDEN_BLOCK.sub(" ", html)
    return unescape(_TAG_LIKE.sub(" ", without_hidden))


def _strip_markup_once(html: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except AssertionError:
        # CPython's _markupbase raises AssertionError on some broken declarations
        # ("<![0"); fall back to regexes rather than fail the whole feed.
        return _strip_markup_roughly(html)
    return "".join(collector.parts)


def _remove_tag_like(text: str) -> str:
    # Removing one tag can join two halves into a new one ("<<b>i>"), hence the loop;
    # every pass shortens the text, so it ends.
    while True:
        stripped = _TAG_LIKE.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment: no tags, scripts or styles; entities decoded.

    Double-escaped HTML ("&lt;p&gt;Hi") decodes to markup, so decoding repeats while
    the result still contains tags; whatever tag-like text survives is removed.
    """
    # Junk characters go first: "<\x1bb>" would hide a tag until they are removed.
    text = _INVISIBLE_JUNK.sub("", html)
    for _ in range(_MAX_HTML_PASSES):
        text = _INVISIBLE_JUNK.sub("", _strip_markup_once(text))
        if "<" not in text or not _TAG_LIKE.search(text):
            break
    return clean_text(_remove_tag_like(text))


def first_words(text: str, count: int) -> str:
    """The first ``count`` words of ``text``, with an ellipsis when words were cut."""
    words = text.split()
    if len(words) <= count:
        return " ".join(words)
    return " ".join(words[:count]) + "…"
