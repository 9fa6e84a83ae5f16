"""The process `bench.memory` measures: a poll worker, run as its own program.

    python -m bench.memory_worker DATABASE_URL

It reads commands from stdin and answers on stdout, one JSON document a line: first a
snapshot after imports and ``build_services``, then one after loading the follow matcher
and the open stories; then, for each command ``{"stage": ..., "expected": {...},
"limit": N}``, one poll cycle over up to N due feeds and its snapshot; for ``null``, the
peak (VmHWM), and it exits.

Why a program of its own and not a ``multiprocessing`` child of ``bench.memory``: the
parse pool's spawned processes import the main module of the process that starts them.
The bot's is the ``storywatch`` script, which imports ``bot.cli`` and nothing heavy; a
child of ``bench.memory`` had ``bench.memory`` as its main module, so each pool process
imported SQLAlchemy, aiohttp, APScheduler and the benchmark too: 80 MB each instead of
34 (measured with one process parsing 50 feeds of 50 items). So this module imports
only the standard library at the top, like ``bot.cli``; the rest where it is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bench.pipeline import PollState
    from bot.services import Services

CONCURRENCY = 50  # the bot's default [polling] concurrency
MB = 1024.0  # /proc status figures are in kB


def proc_memory(pid: int | str = "self") -> dict[str, float] | None:
    """VmRSS and VmHWM (peak RSS) of a process in MB; None if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / MB
    if len(found) < 2:
        return None  # a zombie has no memory lines
    return {"rss_mb": round(found["VmRSS"], 1), "hwm_mb": round(found["VmHWM"], 1)}


def children_memory() -> list[dict[str, Any]]:
    """Every live descendant of this process (the parse pool's workers) with its memory."""
    import psutil  # type: ignore[import-untyped]

    found: list[dict[str, Any]] = []
    for child in psutil.Process().children(recursive=True):
        memory = proc_memory(child.pid)
        if memory is None:
            continue
        with contextlib.suppress(psutil.Error):
            command = " ".join(child.cmdline())
            role = "resource tracker" if "resource_tracker" in command else "parse worker"
            found.append({"pid": child.pid, "role": role, **memory})
    return found


def snapshot(
    stage: str, *, seconds: float | None = None, ok: bool | None = None, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    own = proc_memory() or {"rss_mb": 0.0, "hwm_mb": 0.0}
    return {"stage": stage, **own, "children": children_memory(), "seconds": seconds, "ok": ok, "detail": detail or {}}


def send(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


async def work(database_url: str, commands: TextIO, out: TextIO) -> None:
    from bench.pipeline import PollState, open_services, poll_settings

    services = await open_services(poll_settings(database_url, concurrency=CONCURRENCY), migrate=False)
    state = PollState()  # kept across cycles, as the bot's one PollContext keeps it
    loop = asyncio.get_running_loop()
    try:
        send(out, snapshot("imports + build_services (holding nothing)"))
        send(out, await load(services))
        while line := await loop.run_in_executor(None, commands.readline):
            command = json.loads(line)
            if command is None:
                break
            send(out, await poll(services, state, command["stage"], command["expected"], command["limit"]))
        send(out, snapshot("peak (VmHWM)"))
    finally:
        await services.close()


async def load(services: Services) -> dict[str, Any]:
    """What the bot loads in setup_hook before its first poll."""
    from datetime import UTC, datetime

    started = time.perf_counter()
    await services.refresh_matcher()
    async with services.sessions.begin() as session:
        stories = await services.stories.load(session, now=datetime.now(UTC))
    return snapshot(
        "+ follow matcher and open stories loaded",
        seconds=time.perf_counter() - started,
        detail={"follow queries in the matcher": len(services.matcher), "open stories loaded": stories},
    )


async def poll(
    services: Services, state: PollState, stage: str, expected: dict[str, int], limit: int
) -> dict[str, Any]:
    from bench.cycles import make_due, poll_cycle
    from bench.pipeline import loopback_fetcher

    await make_due(services)
    fetcher = await loopback_fetcher(services.settings)
    started = time.perf_counter()
    try:
        cycle = await poll_cycle(services, fetcher, limit=limit, state=state)
    finally:
        await fetcher.close()
    seconds = time.perf_counter() - started
    statuses = dict(Counter(o.status for o in cycle.outcomes))
    detail: dict[str, Any] = {
        "outcomes": statuses,
        "new items": sum(o.new_items for o in cycle.outcomes),
        "alerts queued": sum(o.queued for o in cycle.outcomes),
    }
    if cycle.crash:
        detail["cycle raised"] = cycle.crash
    return snapshot(stage, seconds=seconds, ok=cycle.crash is None and statuses == expected, detail=detail)


def main() -> None:
    # The answers get stdout to themselves: anything else that prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    asyncio.run(work(sys.argv[1], sys.stdin, answers))


if __name__ == "__main__":
    main()
