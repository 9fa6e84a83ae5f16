"""What the index files under one anchor key: follow keys and entries, direct or paired."""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

from bot.query.document import MatchDoc

K = TypeVar("K", bound=Hashable)  # a follow's key
E = TypeVar("E", bound=Hashable)  # an entry still to verify
T = TypeVar("T", bound=Hashable)


class Slot(Generic[K, E]):
    """Everything filed under one anchor.

    ``keys`` are follows the anchor proves and ``entries`` need a check; the
    ``..._by_second`` maps hold the same kinds filed under a second key (a word or a
    word pair) as well, reached only when the article holds that key too. Unused
    parts stay None to keep a slot small.
    """

    __slots__ = ("entries", "entries_by_second", "keys", "keys_by_second")

    def __init__(self) -> None:
        self.keys: set[K] | None = None
        self.entries: set[E] | None = None
        self.keys_by_second: dict[str, set[K]] | None = None
        self.entries_by_second: dict[str, set[E]] | None = None

    def add_key(self, second: str | None, key: K) -> None:
        if second is None:
            if self.keys is None:
                self.keys = set()
            self.keys.add(key)
        else:
            if self.keys_by_second is None:
                self.keys_by_second = {}
            self.keys_by_second.setdefault(second, set()).add(key)

    def add_entry(self, second: str | None, entry: E) -> None:
        if second is None:
            if self.entries is None:
                self.entries = set()
            self.entries.add(entry)
        else:
            if self.entries_by_second is None:
                self.entries_by_second = {}
            self.entries_by_second.setdefault(second, set()).add(entry)

    def remove_key(self, second: str | None, key: K) -> None:
        if second is None:
            assert self.keys is not None
            self.keys.remove(key)
            if not self.keys:
                self.keys = None
        else:
            assert self.keys_by_second is not None
            _remove(self.keys_by_second, second, key)
            if not self.keys_by_second:
                self.keys_by_second = None

    def remove_entry(self, second: str | None, entry: E) -> None:
        if second is None:
            assert self.entries is not None
            self.entries.remove(entry)
            if not self.entries:
                self.entries = None
        else:
            assert self.entries_by_second is not None
            _remove(self.entries_by_second, second, entry)
            if not self.entries_by_second:
                self.entries_by_second = None

    def is_empty(self) -> bool:
        return (
            self.keys is None
            and self.entries is None
            and self.keys_by_second is None
            and self.entries_by_second is None
        )

    def reach(self, doc: MatchDoc, doc_keys: int, keys: set[K], entries: set[E]) -> None:
        """Add what ``doc`` reaches here to ``keys`` and ``entries``.

        ``doc_keys`` is the number of the article's words and pairs: for paired items,
        the shorter of that list and the second keys is the one walked.
        """
        if self.keys:
            keys.update(self.keys)
        if self.entries:
            entries.update(self.entries)
        if self.keys_by_second:
            _reach_seconds(self.keys_by_second, doc, doc_keys, keys)
        if self.entries_by_second:
            _reach_seconds(self.entries_by_second, doc, doc_keys, entries)


def _reach_seconds(
    by_second: dict[str, set[T]], doc: MatchDoc, doc_keys: int, into: set[T]
) -> None:
    positions, bigrams = doc.positions, doc.bigrams
    if len(by_second) < doc_keys:
        for second, filed in by_second.items():
            if second in positions or second in bigrams:
                into.update(filed)
    else:
        for second in itertools.chain(positions, bigrams):
            found = by_second.get(second)
            if found:
                into.update(found)


def _remove(filed: dict[str, set[T]], second: str, item: T) -> None:
    bucket = filed[second]
    bucket.remove(item)
    if not bucket:
        del filed[second]
