"""A fresh PostgreSQL database per benchmark (only when STORYWATCH_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import URL, make_url

from bench.common import POSTGRES_ENV


def admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


async def _admin_connection(url: URL):  # type: ignore[no-untyped-def]
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )


@asynccontextmanager
async def fresh_database(admin: str, purpose: str) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    url = make_url(admin)
    name = f"sw_bench_{purpose}_{uuid.uuid4().hex[:8]}"
    conn = await _admin_connection(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await _admin_connection(url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
