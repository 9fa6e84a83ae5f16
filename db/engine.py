"""Engine and session factory, built once at startup and passed in (no module globals)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bot.errors import ConfigError


class SessionFactory:
    """Sessions to read with (``sessions()``) and write transactions (``sessions.begin()``).

    SQLite allows one writer at a time, and its busy handler is neither fair nor prompt:
    waiters sleep and retry, and under a burst of polls some starved past the busy timeout
    ("database is locked"). So on SQLite this process's write transactions queue on one
    FIFO lock instead, and reach SQLite one after another. PostgreSQL needs no such lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._make = async_sessionmaker(engine, expire_on_commit=False)
        self._serialize_writes = engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task[Any] | None = None
        # Seconds this process held the write lock: when it nears the wall time, the one
        # SQLite writer is what paces the process (benchmarks report it).
        self.write_lock_held_seconds = 0.0

    def __call__(self) -> AsyncSession:
        return self._make()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._writing(), self._make() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        # A transaction opened inside another by the same task must not wait for itself.
        if not self._serialize_writes or (task is not None and self._writer is task):
            yield
            return
        async with self._write_lock:
            self._writer = task
            started = time.perf_counter()
            try:
                yield
            finally:
                self._writer = None
                self.write_lock_held_seconds += time.perf_counter() - started


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets /latest read while a poll writes; busy_timeout rides out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with little context
        raise ConfigError(f"'database.url' is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite+aiosqlite":
            raise ConfigError("'database.url' for SQLite must start with sqlite+aiosqlite://")
        engine = create_async_engine(
            url,
            echo=echo,
            poolclass=NullPool if parsed.database in (None, "", ":memory:") else None,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+asyncpg":
            raise ConfigError(
                "'database.url' for PostgreSQL must start with postgresql+asyncpg:// "
                "(pip install 'storywatch[postgres]')"
            )
        try:
            import asyncpg  # noqa: F401
        except ImportError:
            raise ConfigError("PostgreSQL needs asyncpg: pip install 'storywatch[postgres]'") from None
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise ConfigError(f"'database.url' backend {backend!r} is not supported (use SQLite or PostgreSQL)")


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return SessionFactory(engine)


async def db_reachable(engine: AsyncEngine) -> bool:
    """For /healthz: can we run a trivial query right now?"""
    from sqlalchemy import text

    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
