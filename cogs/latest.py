"""/latest: the newest stored coverage matching a query, paged with buttons."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import follow_service
from bot.services import Services
from cogs.render import latest_lines
from cogs.throttle import check_read


class LatestPager(discord.ui.View):
    """Previous/next buttons; only the member who asked can page."""

    def __init__(self, cog: LatestCog, *, owner_id: int, text: str | None, page: int, has_more: bool) -> None:
        super().__init__(timeout=600)
        self.cog, self.owner_id, self.text, self.page = cog, owner_id, text, page
        self.previous.disabled = page == 0
        self.next.disabled = not has_more

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        content, view = await self.cog.render_page(interaction, self.text, page)
        await interaction.response.edit_message(content=content, view=view)

    @discord.ui.button(label="◀ Newer", style=discord.ButtonStyle.secondary, custom_id="latest:prev")
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button[LatestPager]) -> None:
        await self._show(interaction, max(self.page - 1, 0))

    @discord.ui.button(label="Older ▶", style=discord.ButtonStyle.secondary, custom_id="latest:next")
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button[LatestPager]) -> None:
        await self._show(interaction, self.page + 1)


class LatestCog(commands.Cog):
    def __init__(self, services: Services) -> None:
        self.services = services

    async def render_page(
        self, interaction: discord.Interaction, text: str | None, page: int
    ) -> tuple[str, LatestPager]:
        assert interaction.guild_id is not None
        assert interaction.channel_id is not None
        result = await follow_service.latest(
            self.services.sessions,
            self.services.settings,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            text=text,
            page=page,
        )
        view = LatestPager(self, owner_id=interaction.user.id, text=text, page=page, has_more=result.has_more)
        return latest_lines(result), view

    @app_commands.command(name="latest", description="The most recent stored coverage matching a query")
    @app_commands.describe(query="A query like /follow's; empty: what matches your follows here")
    @app_commands.guild_only()
    async def latest(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300] | None = None
    ) -> None:
        await check_read(self.services, interaction)
        content, view = await self.render_page(interaction, query, 0)
        await interaction.response.send_message(
            content,
            view=view,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
            suppress_embeds=True,
        )
