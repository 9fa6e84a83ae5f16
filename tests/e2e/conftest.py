"""End-to-end fixtures: the Discord emulator, a feed server and the real bot process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.emulator import DiscordEmulator
from tests.support.bot_process import BotConfig, BotProcess
from tests.support.feed_server import FeedServer

REPO = Path(__file__).resolve().parents[2]
SHARED_FEEDS = REPO.parent / "shared" / "feeds"


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer(SHARED_FEEDS if SHARED_FEEDS.is_dir() else None)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


BotFactory = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def start_bot(emulator: DiscordEmulator, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """Start the real bot against the emulator; every process is stopped at the end."""
    processes: list[BotProcess] = []
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"

    async def start(*, feeds: list[tuple[str, str]], wait_ready: bool = True, **options: object) -> BotProcess:
        config = BotConfig(
            api_base=emulator.api_base,
            gateway_url=emulator.gateway_url,
            database_url=database_url,
            feeds=feeds,
            **options,  # type: ignore[arg-type]
        )
        process = BotProcess(config, tmp_path)
        processes.append(process)
        await process.start()
        if wait_ready:
            try:
                await emulator.wait_ready(timeout=30)
            except Exception:
                raise AssertionError("bot did not connect:\n" + process.output()[-5000:]) from None
        return process

    yield start
    for process in processes:
        if process.proc is not None and process.proc.returncode is None:
            await process.kill()


def alerts_in(emulator: DiscordEmulator, channel_id: int) -> int:
    """Articles posted in a channel: one embed each (alerts due together share a message)."""
    return sum(len(message.get("embeds") or []) for message in emulator.messages(channel_id))
