"""What the index files under one anchor key: follow keys and entries, direct or paired.

Most buckets hold a single item, so a bucket is the item itself until a second one
arrives and makes it a set (a set costs over 200 bytes; at a million follows that
matters). Items are hashable and never sets themselves, so the two cannot be confused.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from bot.query.document import MatchDoc

K = TypeVar("K", bound=Hashable)  # a follow's key
E = TypeVar("E", bound=Hashable)  # an entry still to verify
T = TypeVar("T", bound=Hashable)


def bucket_add(bucket: T | set[T] | None, item: T) -> T | set[T]:
    """The bucket (None when empty) with ``item`` added."""
    if bucket is None:
        return item
    if isinstance(bucket, set):
        bucket.add(item)
        return bucket
    return bucket if bucket == item else {bucket, item}


def bucket_remove(bucket: T | set[T] | None, item: T) -> T | set[T] | None:
    """The bucket without ``item`` (None once empty); KeyError if it is not there."""
    if isinstance(bucket, set):
        bucket.remove(item)
        return next(iter(bucket)) if len(bucket) == 1 else bucket
    if bucket is None or bucket != item:
        raise KeyError(item)
    return None


def _paired_add(paired: dict[str, T | set[T]] | None, second: str, item: T) -> dict[str, T | set[T]]:
    if paired is None:
        paired = {}
    paired[second] = bucket_add(paired.get(second), item)
    return paired


def _paired_remove(paired: dict[str, T | set[T]] | None, second: str, item: T) -> dict[str, T | set[T]] | None:
    if paired is None:
        raise KeyError(item)
    left = bucket_remove(paired.get(second), item)
    if left is None:
        del paired[second]
    else:
        paired[second] = left
    return paired or None


def _reach_paired(paired: dict[str, T | set[T]], doc: MatchDoc, into: set[T]) -> None:
    # the intersection runs in C over the smaller side
    for second in doc.keys & paired.keys():
        bucket = paired[second]
        if isinstance(bucket, set):
            into.update(bucket)
        else:
            into.add(bucket)


class Slot(Generic[K, E]):
    """Everything filed under one anchor.

    ``keys`` are follows the anchor proves and ``entries`` need a check; the
    ``..._by_second`` maps hold the same kinds filed under a second key (a word or a
    word pair) as well, reached only when the article holds that key too. Unused
    parts stay None to keep a slot small.
    """

    __slots__ = ("entries", "entries_by_second", "keys", "keys_by_second")

    def __init__(self) -> None:
        self.keys: K | set[K] | None = None
        self.entries: E | set[E] | None = None
        self.keys_by_second: dict[str, K | set[K]] | None = None
        self.entries_by_second: dict[str, E | set[E]] | None = None

    def add_key(self, second: str | None, key: K) -> None:
        if second is None:
            self.keys = bucket_add(self.keys, key)
        else:
            self.keys_by_second = _paired_add(self.keys_by_second, second, key)

    def add_entry(self, second: str | None, entry: E) -> None:
        if second is None:
            self.entries = bucket_add(self.entries, entry)
        else:
            self.entries_by_second = _paired_add(self.entries_by_second, second, entry)

    def remove_key(self, second: str | None, key: K) -> None:
        """Remove a filed key; KeyError if it was not filed so."""
        if second is None:
            self.keys = bucket_remove(self.keys, key)
        else:
            self.keys_by_second = _paired_remove(self.keys_by_second, second, key)

    def remove_entry(self, second: str | None, entry: E) -> None:
        """Remove a filed entry; KeyError if it was not filed so."""
        if second is None:
            self.entries = bucket_remove(self.entries, entry)
        else:
            self.entries_by_second = _paired_remove(self.entries_by_second, second, entry)

    def is_empty(self) -> bool:
        return (
            self.keys is None
            and self.entries is None
            and self.keys_by_second is None
            and self.entries_by_second is None
        )

    def reach(self, doc: MatchDoc, keys: set[K], entries: set[E]) -> None:
        """Add what ``doc`` reaches here to ``keys`` and ``entries``."""
        # buckets are tested inline: this runs for every anchor an article holds
        if self.keys is not None:
            if isinstance(self.keys, set):
                keys.update(self.keys)
            else:
                keys.add(self.keys)
        if self.entries is not None:
            if isinstance(self.entries, set):
                entries.update(self.entries)
            else:
                entries.add(self.entries)
        if self.keys_by_second is not None:
            _reach_paired(self.keys_by_second, doc, keys)
        if self.entries_by_second is not None:
            _reach_paired(self.entries_by_second, doc, entries)
