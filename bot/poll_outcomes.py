"""Group commit for poll outcomes: one transaction writes every feed that finished meanwhile.

A 304 costs the client well under a millisecond; a transaction of its own per feed cost
several, and made the database the ceiling of unchanged polls. Each poll hands its feed's
new state to ``OutcomeWriter.release`` and waits until it is committed, so a poll is still
recorded before it counts as done; polls that finish while a write is in flight share the
next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from db.engine import SessionFactory
from db.repo import feeds as feed_repo

MAX_BATCH = 500  # outcomes per transaction: bounds the statement's IN list and the lock hold


@dataclass
class _Pending:
    feed_id: int
    values: Mapping[str, object]
    written: asyncio.Future[bool]


class OutcomeWriter:
    def __init__(self, sessions: SessionFactory, worker_id: str, *, max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._worker_id = worker_id
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def release(self, feed_id: int, values: Mapping[str, object]) -> bool:
        """Record a feed's outcome and drop its lease; False if this worker had lost the lease
        (another worker took the feed over), in which case nothing was written."""
        written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(feed_id, values, written))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="poll-outcomes")
        return await written

    async def _flush(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._pending:
                await asyncio.sleep(0)  # polls finishing in this pass of the loop join the batch
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                try:
                    async with self._sessions.begin() as session:
                        lost = await feed_repo.release_feeds(
                            session, self._worker_id, [(p.feed_id, p.values) for p in batch]
                        )
                except Exception as exc:  # each poll reports it as its own failure
                    _settle(batch, error=exc)
                else:
                    _settle(batch, lost=lost)
                batch = []
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            _settle(batch + self._pending, error=exc)
            self._pending = []
            raise
        finally:
            self._flusher = None


def _settle(batch: list[_Pending], *, lost: set[int] | None = None, error: BaseException | None = None) -> None:
    for pending in batch:
        if pending.written.done():  # its poll was cancelled meanwhile
            continue
        if error is None:
            pending.written.set_result(pending.feed_id not in (lost or set()))
        elif isinstance(error, asyncio.CancelledError):
            pending.written.cancel()
        else:
            pending.written.set_exception(error)
