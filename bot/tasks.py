"""Small helpers for tasks the bot owns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def drain_tasks(tasks: Iterable[asyncio.Task[Any]], grace: float) -> None:
    """Shutdown: let running tasks finish for ``grace`` seconds, then cancel the rest."""
    pending = [task for task in tasks if not task.done()]
    if not pending:
        return
    _done, still = await asyncio.wait(pending, timeout=grace)
    for task in still:
        task.cancel()
    if still:
        await asyncio.wait(still, timeout=2)
