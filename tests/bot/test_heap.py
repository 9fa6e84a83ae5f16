"""settle_heap with the real garbage collector."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.heap import YOUNG_GENERATION_THRESHOLD, settle_heap, tune_collector
from bot.services import build_services
from bot.settings import parse_settings


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def unfrozen_afterwards() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


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


def test_tuning_raises_only_the_young_generations_threshold() -> None:
    gc.set_threshold(700, 7, 9)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 7, 9)


async def test_building_the_services_tunes_the_collector(tmp_path: Path) -> None:
    gc.set_threshold(700, 10, 10)
    settings = parse_settings(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/sw.db"\n', "test", {})
    services = await build_services(settings, parse_in_processes=False)
    try:
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    finally:
        await services.close()
