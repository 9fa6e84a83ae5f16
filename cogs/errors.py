"""The one place that turns errors into replies (the app-command tree's error handler)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import LimitExceeded, QueryError, StorywatchError

log = logging.getLogger("storywatch.commands")


def message_for(error: BaseException) -> str:
    if isinstance(error, QueryError):
        return f"⚠️ {error}"
    if isinstance(error, LimitExceeded):
        return f"⏳ {error}"
    if isinstance(error, StorywatchError):
        return f"⚠️ {error}"
    if isinstance(error, app_commands.MissingPermissions):
        return "⛔ You need the Manage Server permission to use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server channel."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"⏳ Slow down: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"⚠️ Could not understand {error.value!r} for that option."
    if isinstance(error, app_commands.CheckFailure):
        return f"⛔ {error}" if str(error) else "⛔ You can't use this command here."
    return "Something went wrong on our side; it has been logged. Please try again later."


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral answer: the response if the interaction has none yet, else a followup."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def reply_error(interaction: discord.Interaction, error: Exception) -> None:
    """The reply to a command or button whose work failed: the reason for a member's
    mistake, a generic line (and a logged traceback) for ours."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if not isinstance(original, StorywatchError | app_commands.CheckFailure | app_commands.TransformerError):
        log.error(
            "command failed",
            exc_info=original,
            extra={
                "command": interaction.command.name if interaction.command else _custom_id(interaction),
                "guild_id": interaction.guild_id,
            },
        )
    try:
        await reply_privately(interaction, message_for(original))
    except discord.HTTPException:
        log.warning("could not send an error reply", extra={"guild_id": interaction.guild_id})


def _custom_id(interaction: discord.Interaction) -> str:
    data: dict[str, Any] = dict(interaction.data or {})
    return str(data.get("custom_id") or "?")


def install_error_handler(bot: commands.Bot) -> None:
    bot.tree.on_error = reply_error  # type: ignore[method-assign]
