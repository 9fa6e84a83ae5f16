"""Group commit: one transaction writes what many polls handed in meanwhile.

A 304 costs the client well under a millisecond; a transaction of its own per feed cost
several, and made the database the ceiling of unchanged polls (on SQLite, every write
transaction also waits its turn for the one writer). Each poll submits its write and waits
until it is committed, so a poll is still recorded before it counts as done; polls that
finish while a write is in flight share the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import SessionFactory
from db.repo import feeds as feed_repo

MAX_BATCH = 500  # writes per transaction: bounds the statements' IN lists and the lock hold

Job = TypeVar("Job")
Result = TypeVar("Result")
# Writes one batch inside the given transaction; one result per job, in order.
BatchWrite = Callable[[AsyncSession, list[Job]], Awaitable[Sequence[Result]]]


@dataclass
class _Pending(Generic[Job, Result]):
    job: Job
    done: asyncio.Future[Result]


class GroupCommit(Generic[Job, Result]):
    def __init__(self, sessions: SessionFactory, write: BatchWrite[Job, Result], *, max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._write = write
        self._max_batch = max_batch
        self._pending: list[_Pending[Job, Result]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, job: Job) -> Result:
        """Write ``job`` with whatever else is pending; returns its result once committed,
        or raises what the batch's transaction raised."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(job, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await done

    async def _flush(self) -> None:
        batch: list[_Pending[Job, Result]] = []
        try:
            while self._pending:
                await asyncio.sleep(0)  # polls finishing in this pass of the loop join the batch
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                try:
                    async with self._sessions.begin() as session:
                        results = await self._write(session, [p.job for p in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        _fail(batch, exc)
                    else:  # one bad job must not fail the others: each alone, in its own transaction
                        await self._one_by_one(batch)
                else:
                    _succeed(batch, results)
                batch = []
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            _fail(batch + self._pending, exc)
            self._pending = []
            raise
        finally:
            self._flusher = None

    async def _one_by_one(self, batch: list[_Pending[Job, Result]]) -> None:
        for pending in batch:
            try:
                async with self._sessions.begin() as session:
                    results = await self._write(session, [pending.job])
            except Exception as exc:  # its poll reports it as its own failure
                _fail([pending], exc)
            else:
                _succeed([pending], results)


def _succeed(batch: Sequence[_Pending[Job, Result]], results: Sequence[Result]) -> None:
    for pending, result in zip(batch, results, strict=True):
        if not pending.done.done():  # else its poll was cancelled meanwhile
            pending.done.set_result(result)


def _fail(batch: Sequence[_Pending[Job, Result]], error: BaseException) -> None:
    for pending in batch:
        if pending.done.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            pending.done.cancel()
        else:
            pending.done.set_exception(error)


class OutcomeWriter(GroupCommit[tuple[int, Mapping[str, object]], bool]):
    """Poll outcomes that store no items (304s, failures): a feed's new state and the end
    of its lease. A result of False means this worker had lost the lease (another worker
    took the feed over), and nothing was written."""

    def __init__(self, sessions: SessionFactory, worker_id: str, *, max_batch: int = MAX_BATCH) -> None:
        async def release(session: AsyncSession, outcomes: list[tuple[int, Mapping[str, object]]]) -> list[bool]:
            lost = await feed_repo.release_feeds(session, worker_id, outcomes)
            return [feed_id not in lost for feed_id, _values in outcomes]

        super().__init__(sessions, release, max_batch=max_batch)

    async def release(self, feed_id: int, values: Mapping[str, object]) -> bool:
        return await self.submit((feed_id, values))
