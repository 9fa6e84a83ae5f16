"""A REST-only discord.py client logged in to a Discord emulator (in-process or not)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import discord
import discord.http


@contextlib.asynccontextmanager
async def logged_in_client(api_base: str, token: str) -> AsyncIterator[discord.Client]:
    discord.http.Route.BASE = api_base
    discord.VoiceClient.warn_nacl = False
    client = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=30.0)
    await client.login(token)
    try:
        yield client
    finally:
        await client.close()
