"""Find which of many follows match an article without looking at every follow.

Each distinct query (keys following an identical query share one entry, so they cost
one check) is filed under the anchors of ONE required OR-group, the one expected to be
rarest (:class:`bot.query.rarity.TermRarity`): a word for a ``Word``, the rarest word
pair (:func:`bot.query.document.bigram`) for a ``Phrase``, the stem for a ``Prefix``.
Any article the query matches holds an anchor of that group, so matching an article
only looks up the article's own words and pairs (and, for stems, each word's first
3..n characters): the cost follows the article's length and the number of candidates,
not the number of follows.

When another group is made of words and two-word phrases only, the entry is also
filed under that group's keys and is reached only when the article holds the anchor
and one of them (``kim kanye`` is not looked at for an article with ``kanye`` but no
``kim``). When the keys looked up
prove the whole query, the follow's keys are filed directly and taken without any
check; the other entries are verified on what is left of their query.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from bot.query.document import MatchDoc, bigram
from bot.query.matcher import term_in
from bot.query.model import Phrase, Query, Term, Word
from bot.query.rarity import TermRarity
from bot.query.shelf import Slot, bucket_add, bucket_remove

K = TypeVar("K", bound=Hashable)


class _Entry(Generic[K]):
    """One distinct query, the keys following it, where it is filed and what is left to check."""

    __slots__ = (
        "excluded_terms",
        "groups",
        "keys",
        "needs_check",
        "normalized",
        "required_words",
        "seconds",
        "stems",
        "vetoes",
        "words",
    )

    def __init__(
        self,
        query: Query,
        words: tuple[str, ...],
        stems: tuple[str, ...],
        seconds: tuple[str, ...],
        unchecked: tuple[tuple[Term, ...], ...],
    ) -> None:
        self.normalized = query.normalized
        self.keys: list[K] = []
        self.words = words  # anchors looked up among the article's words and pairs
        self.stems = stems  # anchors looked up among the article's word prefixes
        self.seconds = seconds  # second keys (words or pairs), any one of which must be there
        single = [g for g in unchecked if len(g) == 1 and isinstance(g[0], Word)]
        self.required_words = tuple(_word_texts(group[0] for group in single))
        rest = [g for g in unchecked if g not in single]
        # groups of plain words are cheaper to test than phrases and stems: test them first
        rest.sort(key=lambda group: not all(isinstance(term, Word) for term in group))
        self.groups = tuple(rest)
        # an excluded word or two-word phrase is a key that vetoes the follow outright;
        # only excluded stems and longer phrases are checked one by one
        vetoes = {term: _term_key(term) for term in query.none_of}
        self.vetoes = tuple(sys.intern(key) for key in vetoes.values() if key is not None)
        self.excluded_terms = tuple(term for term, key in vetoes.items() if key is None)
        self.needs_check = bool(unchecked or self.excluded_terms)


def _word_texts(terms: Iterable[Term]) -> list[str]:
    return [term.text for term in terms if isinstance(term, Word)]


def _term_key(term: Term) -> str | None:
    """The key whose presence proves ``term``: a word, or a two-word phrase's pair."""
    if isinstance(term, Word):
        return term.text
    if isinstance(term, Phrase) and len(term.words) == 2:
        return bigram(*term.words)
    return None


def _group_keys(group: tuple[Term, ...]) -> tuple[str, ...] | None:
    """Keys of which any one proves ``group``, or None when a term has no such key."""
    keys = []
    for term in group:
        key = _term_key(term)
        if key is None:
            return None
        keys.append(key)
    return tuple(keys)


def _verified(entry: _Entry[K], doc: MatchDoc) -> bool:
    positions = doc.positions
    for word in entry.required_words:
        if word not in positions:
            return False
    for group in entry.groups:
        for term in group:
            if term_in(term, doc):
                break
        else:
            return False
    return not entry.excluded_terms or not any(term_in(t, doc) for t in entry.excluded_terms)


class FollowIndex(Generic[K]):
    """Keys (e.g. follow ids) with their queries; ``match`` returns the keys an article matches.

    ``term_frequency`` seeds the rarity estimate: normalized word or word pair (see
    :func:`bot.query.document.bigram`) → number of articles holding it; ``observe``
    adds articles to it. Without data, longer words count as rarer. Anchors are chosen
    when a query is first added and are not moved later.
    """

    def __init__(self, term_frequency: Mapping[str, int] | None = None) -> None:
        self._rarity = TermRarity(term_frequency)
        self._entries: dict[str, _Entry[K]] = {}  # by Query.normalized
        self._entry_of_key: dict[K, _Entry[K]] = {}
        # what is filed under each anchor: words and word pairs, and stems
        self._by_word: dict[str, Slot[K, _Entry[K]]] = {}
        self._by_stem: dict[str, Slot[K, _Entry[K]]] = {}
        self._stem_lengths: dict[int, int] = {}  # length → how many filed stems have it
        self._vetoes: dict[str, K | set[K]] = {}  # excluded key → follows excluding it

    def observe(self, doc: MatchDoc) -> None:
        """Count ``doc``'s words and pairs towards the rarity used by later ``add`` calls."""
        self._rarity.observe(doc)

    # -- filing -----------------------------------------------------------------------

    def _new_entry(self, query: Query) -> _Entry[K]:
        groups = query.all_of
        costs = [sum(map(self._rarity.term_cost, group)) for group in groups]
        first = costs.index(min(costs))
        words: list[str] = []
        stems: list[str] = []
        for term in groups[first]:
            if isinstance(term, Word):
                words.append(term.text)
            elif isinstance(term, Phrase):
                words.append(self._rarity.phrase_anchor(term)[0])
            else:
                stems.append(term.stem)
        keyed: dict[int, tuple[str, ...]] = {}
        for index, group in enumerate(groups):
            keys = _group_keys(group)
            if index != first and keys is not None:
                keyed[index] = keys
        second = min(keyed, key=costs.__getitem__, default=None)
        # a hit on one pair of a longer phrase does not prove it: keep that group to check
        first_proven = not any(isinstance(t, Phrase) and len(t.words) > 2 for t in groups[first])
        unchecked = tuple(
            group for index, group in enumerate(groups) if index != second and (index != first or not first_proven)
        )
        return _Entry(
            query,
            tuple(sys.intern(word) for word in dict.fromkeys(words)),
            tuple(sys.intern(stem) for stem in dict.fromkeys(stems)),
            () if second is None else tuple(map(sys.intern, dict.fromkeys(keyed[second]))),
            unchecked,
        )

    def _slots(self, entry: _Entry[K]) -> Iterator[Slot[K, _Entry[K]]]:
        """The slots of ``entry``'s anchors, created when missing."""
        for anchors, slots in ((entry.words, self._by_word), (entry.stems, self._by_stem)):
            for anchor in anchors:
                slot = slots.get(anchor)
                if slot is None:
                    slot = slots[anchor] = Slot()
                yield slot

    def _drop_empty_slots(self, entry: _Entry[K]) -> None:
        for anchors, slots in ((entry.words, self._by_word), (entry.stems, self._by_stem)):
            for anchor in anchors:
                if slots[anchor].is_empty():
                    del slots[anchor]

    def _file_entry(self, entry: _Entry[K]) -> None:
        for stem in entry.stems:
            self._stem_lengths[len(stem)] = self._stem_lengths.get(len(stem), 0) + 1
        if entry.needs_check:
            for slot in self._slots(entry):
                for second in entry.seconds or (None,):
                    slot.add_entry(second, entry)

    def _unfile_entry(self, entry: _Entry[K]) -> None:
        for stem in entry.stems:
            left = self._stem_lengths[len(stem)] - 1
            if left:
                self._stem_lengths[len(stem)] = left
            else:
                del self._stem_lengths[len(stem)]
        if entry.needs_check:
            for slot in self._slots(entry):
                for second in entry.seconds or (None,):
                    slot.remove_entry(second, entry)
            self._drop_empty_slots(entry)

    def add(self, key: K, query: Query) -> None:
        """File ``key`` under ``query``; a key already present moves to the new query."""
        if key in self._entry_of_key:
            self.remove(key)
        entry = self._entries.get(query.normalized)
        if entry is None:
            entry = self._new_entry(query)
            self._entries[query.normalized] = entry
            self._file_entry(entry)
        if entry.keys:
            entry.keys.append(key)
        else:
            entry.keys = [key]  # exactly one slot: most queries have a single follower
        self._entry_of_key[key] = entry
        for excluded in entry.vetoes:
            self._vetoes[excluded] = bucket_add(self._vetoes.get(excluded), key)
        if not entry.needs_check:
            for slot in self._slots(entry):
                for second in entry.seconds or (None,):
                    slot.add_key(second, key)

    def remove(self, key: K) -> None:
        """Forget ``key``; raises KeyError if it is not in the index."""
        entry = self._entry_of_key.pop(key)
        entry.keys.remove(key)
        for excluded in entry.vetoes:
            left = bucket_remove(self._vetoes[excluded], key)
            if left is None:
                del self._vetoes[excluded]
            else:
                self._vetoes[excluded] = left
        if not entry.needs_check:
            for slot in self._slots(entry):
                for second in entry.seconds or (None,):
                    slot.remove_key(second, key)
            self._drop_empty_slots(entry)
        if not entry.keys:
            del self._entries[entry.normalized]
            self._unfile_entry(entry)

    def __len__(self) -> int:
        return len(self._entry_of_key)

    def __contains__(self, key: object) -> bool:
        return key in self._entry_of_key

    @property
    def distinct_queries(self) -> int:
        return len(self._entries)

    # -- matching ---------------------------------------------------------------------

    def _reach(self, doc: MatchDoc) -> tuple[set[K], set[_Entry[K]]]:
        """Keys proven by the article's keys, and the entries still to verify."""
        proven: set[K] = set()
        checked: set[_Entry[K]] = set()
        slot_of = self._by_word.get
        for key in doc.keys:
            slot = slot_of(key)
            if slot is not None:
                slot.reach(doc, proven, checked)
        if self._stem_lengths:
            slot_of = self._by_stem.get
            lengths = sorted(self._stem_lengths)
            for word in doc.positions:
                for length in lengths:
                    if length > len(word):
                        break
                    slot = slot_of(word[:length])
                    if slot is not None:
                        slot.reach(doc, proven, checked)
        return proven, checked

    def candidate_count(self, doc: MatchDoc) -> int:
        """How many distinct queries ``match`` verifies one by one for ``doc``.

        Follows whose looked-up keys prove the whole query (``kim``, ``kanye OR ye``,
        ``kim kanye``) are taken without a check and not counted. For tests and benchmarks.
        """
        return len(self._reach(doc)[1])

    def match(self, doc: MatchDoc) -> set[K]:
        """The keys whose query matches ``doc``."""
        matched, checked = self._reach(doc)
        for entry in checked:
            if _verified(entry, doc):
                matched.update(entry.keys)
        vetoes = self._vetoes
        for key in doc.keys:
            if not matched:
                break
            vetoed = vetoes.get(key)
            if vetoed is None:
                continue
            if not isinstance(vetoed, set):
                matched.discard(vetoed)
            elif len(vetoed) < len(matched):
                matched -= vetoed
            else:  # walk the smaller set
                matched = {k for k in matched if k not in vetoed}
        return matched
