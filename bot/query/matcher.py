"""The reference matcher: does one query match one article, and which words made it match."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from bot.query.document import MatchDoc, bigram
from bot.query.model import Phrase, Prefix, Query, Term, Word
from bot.query.text import Token, scan


def _phrase_in(words: tuple[str, ...], doc: MatchDoc) -> bool:
    # positions lists every form of a word (alternates too), so "word k of the phrase
    # sits at start + k" is a membership test; FIELD_BREAK positions belong to no word.
    if len(words) == 2:
        return bigram(words[0], words[1]) in doc.bigrams
    positions = doc.positions
    starts = positions.get(words[0])
    if not starts:
        return False
    following = []
    for word in words[1:]:
        at = positions.get(word)
        if not at:
            return False
        following.append(at)
    for start in starts:
        for offset, at in enumerate(following, 1):
            if start + offset not in at:
                break
        else:
            return True
    return False


def _words_with_prefix(stem: str, doc: MatchDoc) -> Iterator[str]:
    words = doc.sorted_words
    for index in range(bisect_left(words, stem), len(words)):
        if not words[index].startswith(stem):
            return
        yield words[index]


def term_in(term: Term, doc: MatchDoc) -> bool:
    """Whether ``term`` occurs in ``doc``."""
    if isinstance(term, Word):
        return term.text in doc.positions
    if isinstance(term, Phrase):
        return _phrase_in(term.words, doc)
    return next(_words_with_prefix(term.stem, doc), None) is not None


def matches(query: Query, doc: MatchDoc) -> bool:
    """Whether every OR-group of ``query`` has a term in ``doc`` and no excluded term is."""
    return all(any(term_in(term, doc) for term in group) for group in query.all_of) and not any(
        term_in(term, doc) for term in query.none_of
    )


def _positive_terms(query: Query) -> Iterator[Term]:
    for group in query.all_of:
        yield from group


def matched_words(query: Query, doc: MatchDoc) -> set[str]:
    """The normalized document words that the query's positive terms found (for bolding).

    Reported whether or not the whole query matches; exclusions are never reported.
    """
    found: set[str] = set()
    for term in _positive_terms(query):
        if isinstance(term, Word):
            if term.text in doc.positions:
                found.add(term.text)
        elif isinstance(term, Phrase):
            if term_in(term, doc):
                found.update(term.words)
        else:
            found.update(_words_with_prefix(term.stem, doc))
    return found


def _token_is(token: Token, word: str) -> bool:
    return token.text == word or token.alternate == word


def _term_spans(term: Term, tokens: Sequence[Token]) -> Iterator[tuple[int, int]]:
    if isinstance(term, Word):
        yield from ((t.start, t.end) for t in tokens if _token_is(t, term.text))
    elif isinstance(term, Prefix):
        for token in tokens:
            if token.text.startswith(term.stem) or (token.alternate or "").startswith(term.stem):
                yield token.start, token.end
    else:
        size = len(term.words)
        for first in range(len(tokens) - size + 1):
            if all(_token_is(tokens[first + k], word) for k, word in enumerate(term.words)):
                yield tokens[first].start, tokens[first + size - 1].end


def highlight_spans(text: str, query: Query) -> list[tuple[int, int]]:
    """Sorted, non-overlapping ``(start, end)`` spans of ``text`` matching positive terms.

    Offsets index the original ``text`` (``text[start:end]`` is what to bold); a span
    covers whole words, e.g. all of ``Kim's`` for ``kim``.
    """
    tokens = list(scan(text))
    spans = sorted({span for term in _positive_terms(query) for span in _term_spans(term, tokens)})
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
