"""Engine and session factory, built once at startup and passed in (no module globals)."""

from __future__ import annotations

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

SessionFactory = async_sessionmaker[AsyncSession]


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
    return async_sessionmaker(engine, expire_on_commit=False)


async def db_reachable(engine: AsyncEngine) -> bool:
    """For /healthz: can we run a trivial query right now?"""
    from sqlalchemy import text

    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
