"""Running the bot: endpoints, resources, migrations, signals, and a clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal

import discord
import discord.gateway
import discord.http
import yarl

from bot.client import create_bot
from bot.errors import ConfigError
from bot.services import build_services
from bot.settings import Settings
from db.migrate import upgrade

log = logging.getLogger("storywatch")


def point_discord_at(settings: Settings) -> None:
    """The one place that aims discord.py at its REST base and gateway (proxy, emulator)."""
    discord.http.Route.BASE = settings.discord.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord.gateway_url)
    discord.VoiceClient.warn_nacl = False  # a text-only bot: no voice warnings at startup


async def run_bot(settings: Settings, token: str) -> int:
    """Run until SIGTERM/SIGINT or a fatal error; returns the process exit code."""
    point_discord_at(settings)
    services = await build_services(settings)
    try:
        await upgrade(services.engine)
    except Exception as exc:
        await services.close()
        raise ConfigError(f"cannot prepare the database at {settings.database.url!r}: {exc}") from None
    bot = create_bot(services)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    closing: list[asyncio.Task[None]] = []  # keeps the close task referenced until it ends

    def request_stop(signame: str) -> None:
        if not stopping.is_set():
            log.info("received %s; shutting down", signame)
            stopping.set()
            closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    code = 0
    try:
        await bot.start(token)
    except discord.LoginFailure:
        log.error("Discord refused the token (401): check DISCORD_TOKEN")
        code = 2
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the Server Members intent: enable it in the Developer Portal "
            "(Bot → Privileged Gateway Intents) or set [discord] members_intent = false"
        )
        code = 2
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if not bot.is_closed():
            await bot.close()
        await services.close()
    log.info("stopped")
    return code
