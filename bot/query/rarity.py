"""How common a word, word pair or stem is: the index files each follow under its rarest."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from bot.query.document import MatchDoc, bigram
from bot.query.model import Phrase, Term, Word

_MIN_STEM = 3  # the parser refuses shorter stems
_COUNTED_PREFIX_MAX = 6  # frequencies are kept for word prefixes of 3..6 characters


def phrase_pairs(phrase: Phrase) -> list[str]:
    """The phrase's adjacent word pairs as :func:`bot.query.document.bigram` keys."""
    return [bigram(a, b) for a, b in itertools.pairwise(phrase.words)]


class TermRarity:
    """Document frequencies of words and word pairs, and costs derived from them.

    A cost estimates how many articles hold a term: the count seen so far plus a
    fraction that favours longer words, which also decides when nothing was counted.
    """

    def __init__(self, term_frequency: Mapping[str, int] | None = None) -> None:
        self._frequency: dict[str, int] = {}  # words and word pairs
        self._prefix_frequency: dict[str, int] = {}
        self._counts_pairs = False  # whether any word pair was counted
        for key, count in (term_frequency or {}).items():
            self.count(key, count)

    def count(self, key: str, articles: int) -> None:
        """Record that ``articles`` more articles hold ``key`` (a word or a word pair)."""
        self._frequency[key] = self._frequency.get(key, 0) + articles
        if " " in key:
            self._counts_pairs = True
            return
        for length in range(_MIN_STEM, min(len(key), _COUNTED_PREFIX_MAX) + 1):
            prefix = key[:length]
            self._prefix_frequency[prefix] = self._prefix_frequency.get(prefix, 0) + articles

    def observe(self, doc: MatchDoc) -> None:
        for key in itertools.chain(doc.positions, doc.bigrams):
            self.count(key, 1)

    def key_cost(self, key: str) -> float:
        return self._frequency.get(key, 0) + 1 / (len(key) + 1)

    def phrase_anchor(self, phrase: Phrase) -> tuple[str, float]:
        """The phrase's rarest word pair and its cost."""
        if self._counts_pairs:
            costs = [(pair, self.key_cost(pair)) for pair in phrase_pairs(phrase)]
        else:  # no pair counts: a pair is at most as common as its rarer word
            costs = [(pair, min(map(self.key_cost, pair.split(" ")))) for pair in phrase_pairs(phrase)]
        return min(costs, key=lambda anchor: anchor[1])

    def term_cost(self, term: Term) -> float:
        if isinstance(term, Word):
            return self.key_cost(term.text)
        if isinstance(term, Phrase):
            return self.phrase_anchor(term)[1]
        counted = self._prefix_frequency.get(term.stem[:_COUNTED_PREFIX_MAX], 0)
        return counted + 2 / (len(term.stem) + 1)  # a stem is broader than a word
