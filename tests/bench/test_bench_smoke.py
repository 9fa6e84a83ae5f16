"""The cheapest benchmark pieces at tiny sizes, checked for correctness only (never speed).

They run the same code as ``python -m bench``: a feed server and the Discord emulator
in their own processes on 127.0.0.1, the real poll pipeline and the real sender.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import delivery, poll_reads, polling, story_sync, suggestions, unchanged
from bench.common import HEADLINES_TSV

pytestmark = pytest.mark.skipif(not HEADLINES_TSV.is_file(), reason=f"shared headlines not found at {HEADLINES_TSV}")

FEEDS = 20


async def test_polling_phases_poll_every_feed_once_with_the_expected_outcome(
    tmp_path: Path,
) -> None:
    result = await polling.run_async(FEEDS, rounds=1, follows=50, workdir=tmp_path)
    phases = {p["name"]: p for p in result["phases"]}

    for phase in phases.values():
        assert phase["ok"], phase  # every feed fetched exactly once, expected status/outcome
    first = phases[polling.FIRST_POLL]["detail"]
    assert first["outcomes"] == {"baseline": FEEDS}
    assert first["alerts_queued"] == 0  # a first poll alerts nobody
    assert 0 < phases[polling.CHANGED]["own_cpu_s_per_feed"] <= phases[polling.CHANGED]["cpu_s_per_feed"]
    changed = phases[polling.CHANGED]["detail"]
    assert changed["outcomes"] == {"new": FEEDS}
    assert changed["new_items"] == FEEDS * 50
    not_modified = phases[polling.NOT_MODIFIED]["detail"]
    assert not_modified["http"] == {304: FEEDS}
    ticks = phases[polling.NOT_MODIFIED_TICKS]["detail"]
    assert (ticks["http"], ticks["succeeded"]) == ({304: FEEDS}, FEEDS)
    skipped = phases[polling.HASH_SKIP]["detail"]
    assert skipped["http"] == {200: FEEDS}
    assert skipped["parse_skipped"] == FEEDS
    assert {t["target"] for t in result["targets"]}  # targets are evaluated, met or not


async def test_unchanged_feeds_start_as_polled_and_every_phase_is_304s_once_each(tmp_path: Path) -> None:
    result = await unchanged.run_async(FEEDS, rounds=1, workdir=tmp_path)
    phases = {p["name"]: p for p in result["phases"]}
    assert set(phases) == {polling.BARE_304, polling.NOT_MODIFIED, polling.NOT_MODIFIED_TICKS}
    for phase in phases.values():
        assert phase["ok"], phase  # every feed fetched exactly once, expected status/outcome
    assert phases[polling.NOT_MODIFIED]["detail"]["outcomes"] == {"unchanged": FEEDS}
    assert phases[polling.NOT_MODIFIED_TICKS]["detail"]["http"] == {304: FEEDS}
    assert "1,500 feeds/s" in unchanged.markdown(result)


@pytest.mark.parametrize(("bundle_max", "messages"), [(1, 300), (5, 100)])
async def test_delivery_drain_loses_and_duplicates_nothing(tmp_path: Path, bundle_max: int, messages: int) -> None:
    # 3 articles to each of the 100 channels: one message each, or one message a channel.
    result = await delivery.run_async(300, tmp_path, bundle_max=bundle_max)
    proof = result["proof"]

    assert proof["statuses"] == {"sent": 300}
    assert proof["messages"] == messages
    assert (proof["lost"], proof["duplicated"], proof["unexpected"]) == (0, 0, 0)
    assert proof["ok"]


def test_suggestions_read_from_the_ranked_names_agree_with_sorting_every_keystroke() -> None:
    result = suggestions.run(quick=True)

    assert result["stories"] > 1_000 and result["names"] > result["stories"] // 2
    assert result["same_answers"] == result["keystrokes"] > 100


def test_workers_that_sync_group_as_one_process_and_workers_that_do_not_split_stories() -> None:
    result = story_sync.run(articles_max=2_000)
    one, apart, synced = result["rows"]

    assert (one["run"], apart["run"], synced["run"]) == ("1 process", "3 workers, no sync", "3 workers, sync")
    assert synced["taken_in"] > 0 and apart["taken_in"] == 0
    assert (synced["stories"], synced["recall"], synced["precision"]) == (
        one["stories"],
        one["recall"],
        one["precision"],
    )
    assert apart["stories"] > one["stories"] and apart["recall"] < one["recall"]


async def test_poll_reads_find_the_one_new_item_each_way(tmp_path: Path) -> None:
    # run_async raises if a read finds anything but each feed's one new item.
    result = await poll_reads.run_async(20, tmp_path, rounds=1)
    names = [read["name"] for read in result["reads"]]
    assert len(names) == 4 and sum("baseline" in name for name in names) == 2
    assert all(read["cpu_us"] > 0 for read in result["reads"])
    assert "unseen (items.unseen)" in poll_reads.markdown(result)
