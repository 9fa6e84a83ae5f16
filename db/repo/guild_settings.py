"""Per-server settings rows (absent row: the [alerts] defaults apply)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import GuildSettings


async def get(session: AsyncSession, guild_id: int) -> GuildSettings | None:
    return await session.get(GuildSettings, guild_id)


async def update_settings(session: AsyncSession, guild_id: int, **values: Any) -> GuildSettings:
    row = await session.get(GuildSettings, guild_id)
    if row is None:
        row = GuildSettings(guild_id=guild_id)
        session.add(row)
    for key, value in values.items():
        if not hasattr(GuildSettings, key):
            raise AttributeError(key)
        setattr(row, key, value)
    await session.flush()
    return row
