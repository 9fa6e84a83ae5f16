"""Command rate limits, applied before a command does anything."""

from __future__ import annotations

import discord

from bot.errors import LimitExceeded
from bot.services import Services


async def check_change(
    services: Services, interaction: discord.Interaction, *, doing: str = "changing follows"
) -> None:
    """State-changing commands: per member and per server; raises LimitExceeded."""
    decision = services.limits.change(interaction.user.id, interaction.guild_id, doing=doing)
    if not decision.allowed:
        raise LimitExceeded(decision.message)


async def check_read(services: Services, interaction: discord.Interaction) -> None:
    decision = services.limits.read(interaction.user.id)
    if not decision.allowed:
        raise LimitExceeded(decision.message)
