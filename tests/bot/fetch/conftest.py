"""Fixtures: the misbehaving server on 127.0.0.1 and FeedFetchers that can only
ever connect to loopback (stub DNS + a socket factory that refuses the rest)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.bot.fetch.helpers import FetcherFactory
from tests.bot.fetch.server import MisbehavingServer, running_server


@pytest.fixture
async def server() -> AsyncIterator[MisbehavingServer]:
    async with running_server() as running:
        yield running


@pytest.fixture
async def make_fetcher() -> AsyncIterator[FetcherFactory]:
    factory = FetcherFactory()
    try:
        yield factory
    finally:
        await factory.close()
    off_machine = [t for t in factory.sockets.targets if not t.startswith(("127.", "::1"))]
    assert off_machine == [], f"connections attempted off the machine: {off_machine}"


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A port whose accept queue is full, so a new connect() hangs until timed out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        yield port
    finally:
        filler.close()
        listener.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port
