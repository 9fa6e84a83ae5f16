from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from db.engine import SessionFactory
from db.repo import deliveries as repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo
from tests.support.item_rows import item_row

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def make_item(sessions: SessionFactory, key: str = "g:1") -> int:
    async with sessions.begin() as s:
        feed = await feed_repo.get_or_create_feed(
            s, url="http://f.test/", name="F", kind="config", trusted=True, interval=60, now=NOW
        )
        row = item_row(key, "t", link="https://a.test/1", article_key="https://a.test/1", published=NOW)
        [(item_id, _)] = await item_repo.record_items(s, feed.id, [row], now=NOW)
        return item_id


def new(item_id: int, channel: int, identity: str = "https://a.test/1") -> repo.NewDelivery:
    return repo.NewDelivery(
        item_id=item_id,
        guild_id=1,
        channel_id=channel,
        article_identity=identity,
        user_ids=(5, 4),
        queries=("kim",),
    )


async def test_one_article_once_per_channel(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10), new(item_id, 11)], now=NOW) == 2
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10)], now=NOW) == 0
    async with sessions() as s:
        assert await repo.pending_count(s) == 2


async def test_enqueue_in_chunks_skips_duplicates_across_chunk_boundaries(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo, "ENQUEUE_CHUNK", 3)
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [new(item_id, 10), new(item_id, 12)], now=NOW) == 2
    # Chunks of 3 (sorted by channel on PostgreSQL, as given on SQLite); 10 and 12 are queued already.
    async with sessions.begin() as s:
        queued = await repo.enqueue(s, [new(item_id, channel) for channel in range(17, 9, -1)], now=NOW)
    assert queued == 6
    async with sessions() as s:
        assert await repo.pending_count(s) == 8


async def test_claims_are_exclusive_until_the_lease_ends(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
    async with sessions.begin() as s:
        a = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=30), limit=10)
    async with sessions.begin() as s:
        b = await repo.claim_due(s, now=NOW + timedelta(seconds=10), worker="b", lease=timedelta(seconds=30), limit=10)
    async with sessions.begin() as s:
        c = await repo.claim_due(s, now=NOW + timedelta(seconds=31), worker="c", lease=timedelta(seconds=30), limit=10)
    assert (len(a), len(b), len(c)) == (1, 0, 1)
    assert c[0].attempts == 2
    assert c[0].user_ids == "4 5"


async def test_paused_channels_are_skipped_and_resume(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
        assert await repo.pause_channel(s, channel_id=10, guild_id=1, reason="403", now=NOW) is True
        assert await repo.pause_channel(s, channel_id=10, guild_id=1, reason="403", now=NOW) is False
    async with sessions.begin() as s:
        assert await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10) == []
        assert await repo.resume_channel(s, 10) is True
    async with sessions.begin() as s:
        assert len(await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10)) == 1


async def test_sent_rows_are_marked_for_latest(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10)], now=NOW)
        [row] = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10)
        await repo.mark_sent(s, row.id, message_id=777, now=NOW, sent_as="alert")
    async with sessions() as s:
        sent = await repo.get_delivery(s, row.id)
        assert sent is not None
        assert (sent.status, sent.sent_as, sent.message_id, sent.claimed_by) == ("sent", "alert", 777, None)
        assert await repo.alerted_items(s, 10, [item_id]) == {item_id}
        assert await repo.alerted_items(s, 11, [item_id]) == set()
        assert await repo.pending_count(s) == 0


async def test_claims_are_fair_across_channels(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    backlog = [new(item_id, 10, identity=f"https://a.test/{n}") for n in range(20)]
    async with sessions.begin() as s:
        await repo.enqueue(
            s, [*backlog, new(item_id, 11, "https://b.test/1"), new(item_id, 11, "https://b.test/2")], now=NOW
        )
    async with sessions.begin() as s:
        claimed = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=30), limit=10)
    per_channel = {c: sum(1 for r in claimed if r.channel_id == c) for c in (10, 11)}
    assert per_channel == {10: 5, 11: 2}  # a backlog in one channel does not starve the other


async def test_a_claim_takes_whole_channels_in_the_order_of_their_oldest_row(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    # Queued as polls queue them: each article to every channel, so channels interleave.
    rows = [new(item_id, channel, f"https://a.test/{n}") for n in range(4) for channel in (10, 11, 12)]
    async with sessions.begin() as s:
        await repo.enqueue(s, rows, now=NOW)
    async with sessions.begin() as s:
        claimed = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=30), limit=6)
    # Not the 6 oldest rows (2 per channel): each channel's due rows together, so what is
    # due in a channel at once can go out as one message; channel 11, cut short by the
    # limit, is left whole for the next claim.
    assert [r.channel_id for r in claimed] == [10, 10, 10, 10]
    assert [r.article_identity for r in claimed] == [f"https://a.test/{n}" for n in range(4)]
    async with sessions.begin() as s:
        claimed = await repo.claim_due(s, now=NOW, worker="b", lease=timedelta(seconds=30), limit=8)
    assert [r.channel_id for r in claimed] == [11, 11, 11, 11, 12, 12, 12, 12]


async def test_groups_are_counted_apart_and_the_earlier_group_queues_a_shared_article(
    sessions: SessionFactory,
) -> None:
    first, second, third = [await make_item(sessions, key) for key in ("g:1", "g:2", "g:3")]
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(first, 10)], now=NOW)
    groups = [
        [new(first, 10), new(first, 11), new(first, 12)],  # 10 was queued before
        [new(second, 12), new(second, 13)],  # the same article: 12 is the first group's
        [],
        [new(third, 14, "https://a.test/other")],
    ]
    async with sessions.begin() as s:
        assert await repo.enqueue_groups(s, groups, now=NOW) == [2, 1, 0, 1]
    async with sessions() as s:
        assert await repo.pending_count(s) == 5


async def test_a_queued_row_holds_exactly_what_was_given(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    snowflake = 1_234_567_890_123_456_789  # beyond 2**53: must not pass through a float
    delivery = repo.NewDelivery(
        item_id=item_id,
        guild_id=snowflake,
        channel_id=snowflake + 1,
        article_identity='https://a.test/"quoted"?q=ü&x=\\n',
        user_ids=(snowflake + 3, snowflake + 2, snowflake + 3),
        queries=("kim kanye", 'beyoncé "live"'),
        kind="dm",
    )
    async with sessions.begin() as s:
        assert await repo.enqueue(s, [delivery], now=NOW) == 1
    async with sessions.begin() as s:
        [row] = await repo.claim_due(s, now=NOW, worker="a", lease=timedelta(seconds=5), limit=10)
    assert (row.item_id, row.guild_id, row.channel_id) == (item_id, snowflake, snowflake + 1)
    assert row.article_identity == delivery.article_identity
    assert row.user_ids == f"{snowflake + 2} {snowflake + 3}"
    assert row.queries == 'beyoncé "live"\nkim kanye'
    assert (row.kind, row.status, row.attempts) == ("dm", "pending", 1)
    assert row.next_attempt_at == NOW and row.created_at == NOW


async def test_concurrent_claims_never_take_a_row_twice(sessions: SessionFactory) -> None:
    """Workers claiming at once each get rows nobody else holds, even when one commits its
    claim while another's statement is running, and never a channel another worker is
    still sending to."""
    item_id = await make_item(sessions)
    rows = [new(item_id, channel, f"https://a.test/{n}") for n in range(10) for channel in range(100, 160)]
    async with sessions.begin() as s:
        await repo.enqueue(s, rows, now=NOW)
    taken: list[int] = []
    sending: dict[int, str] = {}  # channel -> the worker sending to it (released before it marks them sent)

    async def worker(name: str) -> None:
        while True:
            async with sessions.begin() as s:
                claimed = await repo.claim_due(s, now=NOW, worker=name, lease=timedelta(minutes=5), limit=20)
            if not claimed:
                return
            taken.extend(row.id for row in claimed)
            channels = {row.channel_id for row in claimed}
            assert not channels & sending.keys(), f"{name} claimed channels {sorted(channels & sending.keys())} in use"
            sending.update(dict.fromkeys(channels, name))
            await asyncio.sleep(0.005)  # sending
            for channel in channels:
                del sending[channel]
            async with sessions.begin() as s:
                for row in claimed:
                    await repo.mark_sent(s, row.id, message_id=row.id, now=NOW, sent_as="alert")

    await asyncio.gather(*(worker(f"w{n}") for n in range(6)))
    assert len(taken) == len(rows)
    assert len(set(taken)) == len(taken), "a row was claimed by two workers"


async def test_a_channel_another_worker_is_sending_to_is_left_to_it(sessions: SessionFactory) -> None:
    """Rows queued for a channel while one worker holds its earlier rows wait for that
    worker: two workers sending to one channel would reorder its alerts, and both could
    open the same story's first alert."""
    item_id = await make_item(sessions)
    lease = timedelta(seconds=30)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10, "https://a.test/1")], now=NOW)
    async with sessions.begin() as s:
        [held] = await repo.claim_due(s, now=NOW, worker="a", lease=lease, limit=10)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10, "https://a.test/2"), new(item_id, 11, "https://a.test/2")], now=NOW)
    async with sessions.begin() as s:
        other = await repo.claim_due(s, now=NOW + timedelta(seconds=1), worker="b", lease=lease, limit=10)
    assert [row.channel_id for row in other] == [11]
    # Once the holder has sent its row, the channel's next row is anyone's.
    async with sessions.begin() as s:
        await repo.mark_sent(s, held.id, message_id=1, now=NOW, sent_as="alert")
    async with sessions.begin() as s:
        [after] = await repo.claim_due(s, now=NOW + timedelta(seconds=2), worker="b", lease=lease, limit=10)
    assert (after.channel_id, after.article_identity) == (10, "https://a.test/2")


async def test_a_crashed_workers_channel_is_free_when_its_lease_ends(sessions: SessionFactory) -> None:
    item_id = await make_item(sessions)
    lease = timedelta(seconds=30)
    async with sessions.begin() as s:
        await repo.enqueue(s, [new(item_id, 10, "https://a.test/1")], now=NOW)
    async with sessions.begin() as s:
        await repo.claim_due(s, now=NOW, worker="a", lease=lease, limit=10)
        await repo.enqueue(s, [new(item_id, 10, "https://a.test/2")], now=NOW)
    async with sessions.begin() as s:
        assert await repo.claim_due(s, now=NOW + timedelta(seconds=29), worker="b", lease=lease, limit=10) == []
    async with sessions.begin() as s:
        taken = await repo.claim_due(s, now=NOW + timedelta(seconds=31), worker="b", lease=lease, limit=10)
    assert [row.article_identity for row in taken] == ["https://a.test/1", "https://a.test/2"]  # in order
