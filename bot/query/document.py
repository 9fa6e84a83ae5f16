"""An article prepared once for matching against any number of queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.query.text import word_forms

# Put between fields in the word sequence: no query word is empty, so no phrase can
# run from the end of the title into the summary.
FIELD_BREAK = ""


def bigram(first: str, second: str) -> str:
    """The key of two adjacent words (words never contain a space)."""
    return f"{first} {second}"


@dataclass(frozen=True, slots=True, eq=False)
class MatchDoc:
    """The normalized words of an article (title, summary, each category as its own field).

    ``sequence`` holds the primary form of every word in order, with ``FIELD_BREAK``
    between fields. ``positions`` maps every form of a word (a plural possessive has
    two, see :class:`bot.query.text.Token`) to the positions it occupies, so its keys
    are the document's word set. ``bigrams`` holds every pair of adjacent forms within
    one field (see :func:`bigram`), so a two-word phrase is one look-up. ``keys`` is
    every word and pair, what the follow index looks up. ``sorted_words`` is the word
    set sorted, for prefix look-ups by bisection.
    """

    sequence: tuple[str, ...]
    positions: Mapping[str, Sequence[int]]
    bigrams: frozenset[str]
    keys: frozenset[str]
    sorted_words: tuple[str, ...]

    @classmethod
    def from_article(cls, title: str, summary: str = "", categories: Sequence[str] = ()) -> MatchDoc:
        sequence: list[str] = []
        positions: dict[str, list[int]] = {}
        bigrams: set[str] = set()
        for field_text in (title, summary, *categories):
            if not field_text:
                continue
            if sequence:
                sequence.append(FIELD_BREAK)
            previous: tuple[str, ...] = ()
            for word, alternate in word_forms(field_text):
                position = len(sequence)
                sequence.append(word)
                forms = (word,) if alternate is None else (word, alternate)
                for form in forms:
                    positions.setdefault(form, []).append(position)
                    for before in previous:
                        bigrams.add(bigram(before, form))
                previous = forms
        pairs = frozenset(bigrams)
        return cls(tuple(sequence), positions, pairs, pairs.union(positions), tuple(sorted(positions)))
