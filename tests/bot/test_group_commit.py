from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from bot.group_commit import OutcomeWriter
from db.engine import SessionFactory
from db.models import Feed
from db.repo import feeds as feed_repo

NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def claimed_feeds(sessions: SessionFactory, count: int, worker: str = "w1") -> list[int]:
    async with sessions.begin() as s:
        for n in range(count):
            await feed_repo.get_or_create_feed(
                s, url=f"http://f.test/{n}", name=f"F{n}", kind="config", trusted=True, interval=60, now=NOW
            )
    async with sessions.begin() as s:
        claimed = await feed_repo.claim_due_feeds(s, now=NOW, worker=worker, lease=timedelta(minutes=2), limit=count)
    return [f.id for f in claimed]


@contextmanager
def counted_commits(sessions: SessionFactory) -> Iterator[list[int]]:
    """[number of commits] while the block runs."""
    commits = [0]

    def count(_connection: object) -> None:
        commits[0] += 1

    event.listen(sessions.engine.sync_engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(sessions.engine.sync_engine, "commit", count)


async def test_outcomes_finishing_together_share_one_transaction(sessions: SessionFactory) -> None:
    ids = await claimed_feeds(sessions, 60)
    writer = OutcomeWriter(sessions, "w1", max_batch=25)
    later = NOW + timedelta(minutes=1)
    with counted_commits(sessions) as commits:
        results = await asyncio.gather(*(writer.release(i, {"next_poll_at": later, "etag": f"e{i}"}) for i in ids))
    assert results == [True] * 60
    assert commits == [3]  # 60 outcomes in batches of at most 25, not 60 transactions
    async with sessions() as s:
        rows = (await s.execute(select(Feed.id, Feed.etag, Feed.claimed_by, Feed.next_poll_at))).all()
    assert sorted(rows) == [(i, f"e{i}", None, later) for i in sorted(ids)]


async def test_a_lost_lease_is_reported_and_not_written(sessions: SessionFactory) -> None:
    [mine, taken] = await claimed_feeds(sessions, 2)
    async with sessions.begin() as s:  # the lease ran out and another worker took the feed
        await s.execute(Feed.__table__.update().where(Feed.id == taken).values(claimed_by="w2"))
    writer = OutcomeWriter(sessions, "w1")
    assert await asyncio.gather(writer.release(mine, {"etag": "a"}), writer.release(taken, {"etag": "b"})) == [
        True,
        False,
    ]
    async with sessions() as s:
        assert dict((await s.execute(select(Feed.id, Feed.etag))).all()) == {mine: "a", taken: None}


async def test_a_bad_write_fails_alone_and_its_batch_mates_are_written(sessions: SessionFactory) -> None:
    [first, second, third] = await claimed_feeds(sessions, 3)
    writer = OutcomeWriter(sessions, "w1")
    outcomes = await asyncio.gather(
        writer.release(first, {"etag": "a"}),
        writer.release(second, {"no_such_column": 1}),
        writer.release(third, {"etag": "c"}),
        return_exceptions=True,
    )
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], Exception) and "no_such_column" in str(outcomes[1])
    async with sessions() as s:
        assert dict((await s.execute(select(Feed.id, Feed.etag))).all()) == {first: "a", second: None, third: "c"}
    assert await writer.release(second, {"etag": "b"}) is True  # the writer goes on
