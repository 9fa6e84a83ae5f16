"""Run an asyncio server in a background thread, for synchronous tests (CLI)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.feed_server import FeedServer


@contextmanager
def feed_server_in_thread(shared_feeds: Path | None = None) -> Iterator[FeedServer]:
    loop = asyncio.new_event_loop()
    server = FeedServer(shared_feeds)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
