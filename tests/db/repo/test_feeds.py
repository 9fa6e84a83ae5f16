from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.engine import SessionFactory
from db.models import Feed
from db.repo import feeds as repo

NOW = datetime(2026, 5, 1, tzinfo=UTC)
LEASE = timedelta(minutes=2)


async def add_feeds(sessions: SessionFactory, count: int) -> list[int]:
    async with sessions.begin() as s:
        feeds = [
            await repo.get_or_create_feed(
                s, url=f"http://f.test/{n}", name=f"F{n}", kind="config", trusted=True, interval=60, now=NOW
            )
            for n in range(count)
        ]
        return [f.id for f in feeds]


async def feed(sessions: SessionFactory, feed_id: int) -> Feed:
    async with sessions() as s:
        found = await s.get(Feed, feed_id)
        assert found is not None
        return found


async def test_claims_are_exclusive_until_the_lease_ends(sessions: SessionFactory) -> None:
    ids = await add_feeds(sessions, 3)
    async with sessions.begin() as s:
        mine = await repo.claim_due_feeds(s, now=NOW, worker="a", lease=LEASE, limit=2)
    async with sessions.begin() as s:
        theirs = await repo.claim_due_feeds(s, now=NOW, worker="b", lease=LEASE, limit=10)
    assert len(mine) == 2 and [f.id for f in theirs] == [i for i in ids if i not in {f.id for f in mine}]
    async with sessions.begin() as s:  # after the lease, a crashed worker's feeds are taken over
        late = await repo.claim_due_feeds(s, now=NOW + LEASE + timedelta(seconds=1), worker="b", lease=LEASE, limit=10)
    assert sorted(f.id for f in late) == ids


async def test_release_writes_each_outcome_and_skips_lost_leases(sessions: SessionFactory) -> None:
    ids = await add_feeds(sessions, 4)
    async with sessions.begin() as s:
        await repo.claim_due_feeds(s, now=NOW, worker="a", lease=LEASE, limit=3)
    later = NOW + timedelta(minutes=5)
    ok = {"next_poll_at": later, "consecutive_failures": 0, "etag": '"v2"'}
    failed = {"next_poll_at": later, "consecutive_failures": 3, "last_error": "HTTP 503"}
    async with sessions.begin() as s:
        lost = await repo.release_feeds(s, "a", [(ids[0], ok), (ids[1], failed), (ids[3], ok)])
    assert lost == {ids[3]}  # never claimed by "a": not written
    first, second, untouched = [await feed(sessions, i) for i in (ids[0], ids[1], ids[3])]
    assert (first.etag, first.next_poll_at, first.claimed_by, first.lease_until) == ('"v2"', later, None, None)
    assert (second.consecutive_failures, second.last_error, second.etag) == (3, "HTTP 503", None)
    assert untouched.etag is None and untouched.next_poll_at == NOW
    still_claimed = await feed(sessions, ids[2])
    assert still_claimed.claimed_by == "a"


async def test_a_move_to_an_address_already_watched_keeps_the_old_address(sessions: SessionFactory) -> None:
    ids = await add_feeds(sessions, 3)
    async with sessions.begin() as s:
        await repo.claim_due_feeds(s, now=NOW, worker="a", lease=LEASE, limit=3)
    async with sessions.begin() as s:
        lost = await repo.release_feeds(
            s,
            "a",
            [
                (ids[0], {"url": "http://f.test/2"}),  # taken by feed 2
                (ids[1], {"url": "http://moved.test/x"}),
                (ids[2], {"url": "http://moved.test/x"}),  # taken by feed 1 in this same batch
            ],
        )
    assert lost == set()
    async with sessions() as s:
        urls = list(await s.scalars(select(Feed.url).order_by(Feed.id)))
    assert urls == ["http://f.test/0", "http://moved.test/x", "http://f.test/2"]


async def test_a_single_outcome_reports_a_lost_lease_too(sessions: SessionFactory) -> None:
    [mine, theirs] = await add_feeds(sessions, 2)
    async with sessions.begin() as s:
        await repo.claim_due_feeds(s, now=NOW, worker="a", lease=LEASE, limit=1)
    async with sessions.begin() as s:
        assert await repo.release_feeds(s, "a", [(mine, {"etag": '"x"'})]) == set()
        assert await repo.release_feeds(s, "a", [(theirs, {"etag": '"y"'})]) == {theirs}
    assert (await feed(sessions, mine)).etag == '"x"'
    assert (await feed(sessions, theirs)).etag is None


async def test_both_ways_of_writing_outcomes_store_the_same_values(sessions: SessionFactory) -> None:
    """SQLite writes a batch through one JSON-bound statement, a batch with a move (and
    PostgreSQL) through an executemany: every kind of column must come back the same."""
    ids = await add_feeds(sessions, 3)
    async with sessions.begin() as s:
        await repo.claim_due_feeds(s, now=NOW, worker="a", lease=LEASE, limit=3)
    later = NOW + timedelta(minutes=5, microseconds=123456)
    values: dict[str, object] = {
        "etag": 'W/"v\\"2"',
        "last_modified": "Wed, 01 May 2026 12:00:00 GMT",
        "interval_seconds": 612.5,
        "next_poll_at": later,
        "consecutive_failures": 0,
        "last_polled_at": NOW,
        "last_success_at": NOW,
        "last_error": "fehlgeschlagen: Ünïcödé \U0001f600",
        "body_hash": "ab" * 32,
        "baseline_done": True,
        "guid_stable": False,
        "title": 'Nachrichten \u2014 "quoted"',
    }
    async with sessions.begin() as s:
        assert await repo.release_feeds(s, "a", [(ids[0], values)]) == set()
    async with sessions.begin() as s:  # a move in the batch takes the checked path
        assert await repo.release_feeds(s, "a", [(ids[1], values), (ids[2], {"url": "http://moved.test/2"})]) == set()
    one, other = await feed(sessions, ids[0]), await feed(sessions, ids[1])
    for column in values:
        assert getattr(one, column) == getattr(other, column) == values[column], column
    assert one.next_poll_at.tzinfo is not None and (one.claimed_by, one.lease_until) == (None, None)
    assert (await feed(sessions, ids[2])).url == "http://moved.test/2"


async def test_concurrent_claims_never_take_a_feed_twice(sessions: SessionFactory) -> None:
    ids = await add_feeds(sessions, 400)
    taken: list[int] = []

    async def worker(name: str) -> None:
        while True:
            async with sessions.begin() as s:
                claimed = await repo.claim_due_feeds(s, now=NOW, worker=name, lease=LEASE, limit=15)
            if not claimed:
                return
            taken.extend(f.id for f in claimed)

    await asyncio.gather(*(worker(f"w{n}") for n in range(6)))
    assert sorted(taken) == sorted(ids), "a feed was claimed by two workers, or by none"
