"""settle_heap with the real garbage collector."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import settle_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


def test_settled_objects_are_left_out_of_collections_until_the_next_settle() -> None:
    kept = [Node() for _ in range(1_000)]
    first, first_ref = cycle()
    assert settle_heap() >= len(kept)
    assert gc.is_tracked(kept[0]) and gc.get_freeze_count() > 0
    del first  # now cyclic garbage, but frozen: a full collection does not look at it
    gc.collect()
    assert first_ref() is not None
    settle_heap()  # unfreezes and collects before freezing again
    assert first_ref() is None


def test_cycles_made_after_a_settle_are_still_collected() -> None:
    settle_heap()
    later, later_ref = cycle()
    del later
    gc.collect()
    assert later_ref() is None
