"""/follow, /unfollow and /follows."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import follow_service
from bot.errors import NotAllowed
from bot.follow_suggestions import SuggestionCache
from bot.services import Services
from cogs.render import follow_reply, follows_lines
from cogs.throttle import check_change, check_read


def acting_for(interaction: discord.Interaction, member: discord.User | discord.Member | None) -> int:
    """Whose follows: the caller's own, or (Manage Server only) another member's."""
    if member is None or member.id == interaction.user.id:
        return interaction.user.id
    if not interaction.permissions.manage_guild:
        raise NotAllowed("Only members with Manage Server can see or remove another member's follows.")
    return member.id


class FollowsCog(commands.Cog):
    def __init__(self, services: Services) -> None:
        self.services = services
        self.suggestions = SuggestionCache()  # names in the news, per server, for /follow's autocomplete

    @app_commands.command(name="follow", description="Get alerted in this channel when news matches a query")
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
        assert interaction.guild_id is not None
        assert interaction.channel_id is not None
        await check_change(self.services, interaction)
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
        await interaction.response.send_message(
            follow_reply(result, delivery=delivery, dm=dm),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
            suppress_embeds=True,
        )

    @follow.autocomplete("query")
    async def follow_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        suggestions = await follow_service.suggest_follows(
            self.services.sessions,
            self.services.stories,
            self.suggestions,
            guild_id=interaction.guild_id,
            typed=current,
        )
        return [
            app_commands.Choice(name=f"{found.query} · {found.articles} articles"[:100], value=found.query[:100])
            for found in suggestions
        ]

    @app_commands.command(name="unfollow", description="Stop following a query in this channel")
    @app_commands.describe(query="One of the follows here", member="(Manage Server) remove another member's follow")
    @app_commands.guild_only()
    async def unfollow(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300],
        member: discord.User | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        assert interaction.channel_id is not None
        user_id = acting_for(interaction, member)
        await check_change(self.services, interaction)
        normalized, removed = await follow_service.unfollow(
            self.services.sessions,
            self.services.matcher,
            self.services.settings,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=user_id,
            text=query,
        )
        whose = "" if user_id == interaction.user.id else f" for <@{user_id}>"
        if removed:
            text = f"🗑️ Unfollowed `{normalized}`{whose}."
        else:
            text = f"No follow `{normalized}`{whose} in this channel."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

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
    @app_commands.describe(member="(Manage Server) list another member's follows in this server")
    @app_commands.guild_only()
    async def follows(self, interaction: discord.Interaction, member: discord.User | None = None) -> None:
        assert interaction.guild_id is not None
        user_id = acting_for(interaction, member)
        await check_read(self.services, interaction)
        own = user_id == interaction.user.id
        rows = await follow_service.list_follows(
            self.services.sessions,
            guild_id=interaction.guild_id,
            user_id=user_id,
            channel_id=interaction.channel_id if own else None,
        )
        head = "" if own else f"Follows of <@{user_id}> in this server:\n"
        await interaction.response.send_message(
            head + follows_lines(rows, here=interaction.channel_id if own else None),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
