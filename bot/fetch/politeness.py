"""Per-host concurrency slots, so no single site sees more than N requests at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = field(default=0)  # holders plus waiters; the entry goes when it is 0


class HostSlots:
    """A semaphore per host, created on first use and dropped when nobody holds or
    waits for it, so the table never outgrows the requests in flight."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self._per_host = per_host
        self._slots: dict[str, _HostSlot] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        key = host.lower()
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _HostSlot(asyncio.Semaphore(self._per_host))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[key]
