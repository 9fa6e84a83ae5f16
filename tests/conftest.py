"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and paths."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from tests.emulator import DiscordEmulator

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTGRES_ENV = "STORYWATCH_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


async def _admin_connection(admin_url: str):  # type: ignore[no-untyped-def]
    import asyncpg

    url = make_url(admin_url)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "test",
    )


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    url = make_url(admin_url)
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    conn = await _admin_connection(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False), name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    conn = await _admin_connection(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database URL on each backend (PostgreSQL only when configured)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin = postgres_admin_url()
    if not admin:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    url, name = await _create_pg_database(admin)
    try:
        yield url
    finally:
        await _drop_pg_database(admin, name)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database_url)
    await upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    """The in-process Discord emulator (some modules use an out-of-process one instead)."""
    emu = DiscordEmulator(token="test-token")
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
