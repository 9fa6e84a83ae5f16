"""/follow, /unfollow and /follows."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import follow_service
from bot.services import Services
from cogs.render import follows_lines


class FollowsCog(commands.Cog):
    def __init__(self, services: Services) -> None:
        self.services = services

    @app_commands.command(
        name="follow", description="Get alerted in this channel when news matches a query"
    )
    @app_commands.describe(
        query='Words that must all appear, e.g. kim kanye — "phrases", OR, -exclude, prefix*',
        delivery="instant (default), or an hourly/daily digest",
        dm="Send your alerts by direct message instead of pinging you here",
    )
    @app_commands.guild_only()
    async def follow(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300],
        delivery: Literal["instant", "hourly", "daily"] = "instant",
        dm: bool = False,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        result = await follow_service.follow(
            self.services.sessions,
            self.services.matcher,
            self.services.settings,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            text=query,
            delivery=delivery,
            dm=dm,
        )
        verb = "Following" if result.created else "You already follow"
        how = "" if delivery == "instant" else f" as a {delivery} digest"
        await interaction.response.send_message(
            f"✅ {verb} `{result.query}` in this channel{how}. New matching articles will mention you here.",
            ephemeral=True,
        )

    @app_commands.command(name="unfollow", description="Stop following a query in this channel")
    @app_commands.describe(query="One of your follows here")
    @app_commands.guild_only()
    async def unfollow(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        normalized, removed = await follow_service.unfollow(
            self.services.sessions,
            self.services.matcher,
            self.services.settings,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            text=query,
        )
        text = (
            f"🗑️ Unfollowed `{normalized}`."
            if removed
            else f"You don't follow `{normalized}` in this channel."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @unfollow.autocomplete("query")
    async def unfollow_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or interaction.channel_id is None:
            return []
        found = await follow_service.autocomplete_follows(
            self.services.sessions,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            typed=current,
        )
        return [app_commands.Choice(name=q[:100], value=q[:100]) for q in found]

    @app_commands.command(name="follows", description="List your follows in this channel")
    @app_commands.guild_only()
    async def follows(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        rows = await follow_service.list_follows(
            self.services.sessions,
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            channel_id=interaction.channel_id,
        )
        await interaction.response.send_message(
            follows_lines(rows, here=interaction.channel_id), ephemeral=True
        )
