"""Find which of many follows match an article without looking at every follow.

Each distinct query (keys following an identical query share one entry, so they cost
one check) is filed under the anchors of ONE required OR-group, the one expected to be
rarest: a word for a ``Word``, the rarest word pair (see
:func:`bot.query.document.bigram`) for a ``Phrase``, the stem for a ``Prefix``. Any
article the query matches holds an anchor of that group, so matching an article only
looks up the article's own words and pairs (and, for stems, each word's first 3..n
characters); the cost follows the article's length and the number of candidates, not
the number of follows.

When another group is a single word or a two-word phrase, the entry is filed one level
deeper, under that second key too, and is reached only when the article holds both:
``kim kanye`` is not looked at for an article that has ``kanye`` but no ``kim``. An
entry whose anchor (and second key) prove everything it asks is taken without a check;
the others are verified on what is left of their query.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

from bot.query.document import MatchDoc, bigram
from bot.query.matcher import term_in
from bot.query.model import Phrase, Query, Term, Word

K = TypeVar("K", bound=Hashable)

_MIN_STEM = 3  # the parser refuses shorter stems
_COUNTED_PREFIX_MAX = 6  # document frequencies are kept for word prefixes of 3..6 chars


class _Entry(Generic[K]):
    """One distinct query, the keys following it, where it is filed and what is left to check."""

    __slots__ = (
        "excluded_terms",
        "excluded_words",
        "groups",
        "keys",
        "needs_check",
        "query",
        "required_words",
        "second",
        "stems",
        "words",
    )

    def __init__(
        self,
        query: Query,
        words: tuple[str, ...],
        stems: tuple[str, ...],
        second: str | None,
        unchecked: tuple[tuple[Term, ...], ...],
    ) -> None:
        self.query = query
        self.keys: list[K] = []
        self.words = words  # anchors looked up among the article's words and pairs
        self.stems = stems  # anchors looked up among the article's word prefixes
        self.second = second  # second-level key (a word or a pair), if any
        single = [g for g in unchecked if len(g) == 1 and isinstance(g[0], Word)]
        self.required_words = tuple(_word_texts(group[0] for group in single))
        rest = [g for g in unchecked if g not in single]
        # groups of plain words are cheaper to test than phrases and stems: test them first
        rest.sort(key=lambda group: not all(isinstance(term, Word) for term in group))
        self.groups = tuple(rest)
        self.excluded_words = tuple(_word_texts(query.none_of))
        self.excluded_terms = tuple(t for t in query.none_of if not isinstance(t, Word))
        self.needs_check = bool(unchecked or query.none_of)


def _word_texts(terms: Iterable[Term]) -> list[str]:
    return [term.text for term in terms if isinstance(term, Word)]


def _pairs(phrase: Phrase) -> list[str]:
    return [bigram(a, b) for a, b in itertools.pairwise(phrase.words)]


def _verified(entry: _Entry[K], doc: MatchDoc) -> bool:
    positions = doc.positions
    for word in entry.required_words:
        if word not in positions:
            return False
    for word in entry.excluded_words:
        if word in positions:
            return False
    for group in entry.groups:
        for term in group:
            if term_in(term, doc):
                break
        else:
            return False
    return not entry.excluded_terms or not any(term_in(t, doc) for t in entry.excluded_terms)


class _Shelf(Generic[K]):
    """Entries filed by anchor, and by anchor then second key."""

    __slots__ = ("by_anchor", "by_pair")

    def __init__(self) -> None:
        self.by_anchor: dict[str, set[_Entry[K]]] = {}
        self.by_pair: dict[str, dict[str, set[_Entry[K]]]] = {}

    def file(self, anchor: str, entry: _Entry[K]) -> None:
        if entry.second is None:
            self.by_anchor.setdefault(anchor, set()).add(entry)
        else:
            self.by_pair.setdefault(anchor, {}).setdefault(entry.second, set()).add(entry)

    def unfile(self, anchor: str, entry: _Entry[K]) -> None:
        if entry.second is None:
            _discard(self.by_anchor, anchor, entry)
            return
        seconds = self.by_pair[anchor]
        _discard(seconds, entry.second, entry)
        if not seconds:
            del self.by_pair[anchor]

    def reach(self, anchor: str, doc: MatchDoc, doc_keys: int, reached: set[_Entry[K]]) -> None:
        """Add to ``reached`` the entries filed under ``anchor`` that ``doc`` can match."""
        filed = self.by_anchor.get(anchor)
        if filed:
            reached.update(filed)
        seconds = self.by_pair.get(anchor)
        if not seconds:
            return
        positions, bigrams = doc.positions, doc.bigrams
        if len(seconds) < doc_keys:
            for second, filed_both in seconds.items():
                if second in positions or second in bigrams:
                    reached.update(filed_both)
        else:
            for second in itertools.chain(positions, bigrams):
                found = seconds.get(second)
                if found:
                    reached.update(found)


def _discard(filed: dict[str, set[_Entry[K]]], key: str, entry: _Entry[K]) -> None:
    bucket = filed[key]
    bucket.discard(entry)
    if not bucket:
        del filed[key]


class FollowIndex(Generic[K]):
    """Keys (e.g. follow ids) with their queries; ``match`` returns the keys an article matches.

    ``term_frequency`` seeds the rarity estimate: normalized word (or word pair, see
    :func:`bot.query.document.bigram`) → number of articles containing it. ``observe``
    adds articles to it. Without data, longer words count as rarer. Anchors are chosen
    when a query is first added and are not moved later.
    """

    def __init__(self, term_frequency: Mapping[str, int] | None = None) -> None:
        self._frequency: dict[str, int] = {}  # words and word pairs
        self._prefix_frequency: dict[str, int] = {}
        self._counts_pairs = False  # whether the frequencies include word pairs
        self._entries: dict[str, _Entry[K]] = {}  # by Query.normalized
        self._entry_of_key: dict[K, _Entry[K]] = {}
        self._by_word: _Shelf[K] = _Shelf()  # anchors that are words or word pairs
        self._by_stem: _Shelf[K] = _Shelf()
        self._stem_lengths: dict[int, int] = {}  # length → how many filed stems have it
        if term_frequency:
            for key, count in term_frequency.items():
                self._count(key, count)

    # -- rarity -----------------------------------------------------------------------

    def _count(self, key: str, count: int) -> None:
        self._frequency[key] = self._frequency.get(key, 0) + count
        if " " in key:
            self._counts_pairs = True
            return
        for length in range(_MIN_STEM, min(len(key), _COUNTED_PREFIX_MAX) + 1):
            prefix = key[:length]
            self._prefix_frequency[prefix] = self._prefix_frequency.get(prefix, 0) + count

    def observe(self, doc: MatchDoc) -> None:
        """Count ``doc``'s words and pairs towards the rarity used by later ``add`` calls."""
        for key in itertools.chain(doc.positions, doc.bigrams):
            self._count(key, 1)

    def _key_cost(self, key: str) -> float:
        """Articles holding ``key``; the fraction breaks ties (and rules without data)."""
        return self._frequency.get(key, 0) + 1 / (len(key) + 1)

    def _phrase_anchor(self, phrase: Phrase) -> tuple[str, float]:
        """The phrase's rarest word pair and its estimated cost."""
        if self._counts_pairs:
            return min(((pair, self._key_cost(pair)) for pair in _pairs(phrase)), key=_cost)
        # no pair counts: a pair is at most as common as its rarer word
        return min(
            ((pair, min(map(self._key_cost, pair.split(" ")))) for pair in _pairs(phrase)),
            key=_cost,
        )

    def _term_cost(self, term: Term) -> float:
        if isinstance(term, Word):
            return self._key_cost(term.text)
        if isinstance(term, Phrase):
            return self._phrase_anchor(term)[1]
        counted = self._prefix_frequency.get(term.stem[:_COUNTED_PREFIX_MAX], 0)
        return counted + 2 / (len(term.stem) + 1)  # a stem is broader than a word

    # -- filing -----------------------------------------------------------------------

    def _new_entry(self, query: Query) -> _Entry[K]:
        groups = query.all_of
        costs = [sum(self._term_cost(term) for term in group) for group in groups]
        first = costs.index(min(costs))
        words: list[str] = []
        stems: list[str] = []
        for term in groups[first]:
            if isinstance(term, Word):
                words.append(term.text)
            elif isinstance(term, Phrase):
                words.append(self._phrase_anchor(term)[0])
            else:
                stems.append(term.stem)
        # One-key groups (a word, or a two-word phrase: its pair) are proven by a hit.
        keyed: dict[int, str] = {}
        for index, group in enumerate(groups):
            key = _single_key(group)
            if index != first and key is not None:
                keyed[index] = key
        second = min(keyed, key=costs.__getitem__, default=None)
        # a hit on one pair of a longer phrase does not prove it: keep that group to check
        first_proven = not any(isinstance(t, Phrase) and len(t.words) > 2 for t in groups[first])
        unchecked = tuple(
            group
            for index, group in enumerate(groups)
            if index != second and (index != first or not first_proven)
        )
        return _Entry(
            query,
            tuple(sys.intern(word) for word in dict.fromkeys(words)),
            tuple(sys.intern(stem) for stem in dict.fromkeys(stems)),
            None if second is None else sys.intern(keyed[second]),
            unchecked,
        )

    def _file(self, entry: _Entry[K]) -> None:
        for word in entry.words:
            self._by_word.file(word, entry)
        for stem in entry.stems:
            self._by_stem.file(stem, entry)
            self._stem_lengths[len(stem)] = self._stem_lengths.get(len(stem), 0) + 1

    def _unfile(self, entry: _Entry[K]) -> None:
        for word in entry.words:
            self._by_word.unfile(word, entry)
        for stem in entry.stems:
            self._by_stem.unfile(stem, entry)
            left = self._stem_lengths[len(stem)] - 1
            if left:
                self._stem_lengths[len(stem)] = left
            else:
                del self._stem_lengths[len(stem)]

    def add(self, key: K, query: Query) -> None:
        """File ``key`` under ``query``; a key already present moves to the new query."""
        if key in self._entry_of_key:
            self.remove(key)
        entry = self._entries.get(query.normalized)
        if entry is None:
            entry = self._new_entry(query)
            self._entries[query.normalized] = entry
            self._file(entry)
        entry.keys.append(key)
        self._entry_of_key[key] = entry

    def remove(self, key: K) -> None:
        """Forget ``key``; raises KeyError if it is not in the index."""
        entry = self._entry_of_key.pop(key)
        entry.keys.remove(key)
        if not entry.keys:
            del self._entries[entry.query.normalized]
            self._unfile(entry)

    def __len__(self) -> int:
        return len(self._entry_of_key)

    def __contains__(self, key: object) -> bool:
        return key in self._entry_of_key

    @property
    def distinct_queries(self) -> int:
        return len(self._entries)

    # -- matching ---------------------------------------------------------------------

    def _reached(self, doc: MatchDoc) -> set[_Entry[K]]:
        reached: set[_Entry[K]] = set()
        doc_keys = len(doc.positions) + len(doc.bigrams)
        for key in itertools.chain(doc.positions, doc.bigrams):
            self._by_word.reach(key, doc, doc_keys, reached)
        if self._stem_lengths:
            lengths = sorted(self._stem_lengths)
            for word in doc.positions:
                for length in lengths:
                    if length > len(word):
                        break
                    self._by_stem.reach(word[:length], doc, doc_keys, reached)
        return reached

    def candidate_count(self, doc: MatchDoc) -> int:
        """How many distinct queries ``match`` verifies one by one for ``doc``.

        Entries reached whose anchors prove the whole query (``kim``, ``kanye OR ye``,
        ``kim kanye``) are taken without a check and not counted. For tests and benchmarks.
        """
        return sum(entry.needs_check for entry in self._reached(doc))

    def match(self, doc: MatchDoc) -> set[K]:
        """The keys whose query matches ``doc``."""
        matched: set[K] = set()
        for entry in self._reached(doc):
            if not entry.needs_check or _verified(entry, doc):
                matched.update(entry.keys)
        return matched


def _cost(anchor: tuple[str, float]) -> float:
    return anchor[1]


def _single_key(group: tuple[Term, ...]) -> str | None:
    """The one key whose presence proves ``group``: a word, or a two-word phrase's pair."""
    if len(group) != 1:
        return None
    term = group[0]
    if isinstance(term, Word):
        return term.text
    if isinstance(term, Phrase) and len(term.words) == 2:
        return bigram(*term.words)
    return None
