"""Admin commands: /feeds, /settings, /status. Manage Server is checked by the bot itself."""

from __future__ import annotations

import io
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import admin_service
from bot.catalog import CatalogFeed, load_catalog
from bot.errors import AdminError, FeedError
from bot.opml import OpmlFeed, export_opml, parse_opml
from bot.services import Services
from cogs.render import feed_lines, settings_text, status_text
from cogs.throttle import check_change

MAX_OPML_BYTES = 1_000_000
PAGE = 8


class CatalogPicker(discord.ui.View):
    """A select menu of catalog feeds; picking one adds it (Manage Server re-checked)."""

    def __init__(self, cog: AdminCog, owner_id: int, entries: list[CatalogFeed]) -> None:
        super().__init__(timeout=300)
        self.cog, self.owner_id = cog, owner_id
        self.by_id = {e.id: e for e in entries}
        choose: discord.ui.Select[CatalogPicker] = discord.ui.Select(
            placeholder="Pick a feed to add",
            custom_id="catalog:pick",
            options=[
                discord.SelectOption(
                    label=e.name[:100], value=e.id, description=f"{e.category} · {e.description}"[:100]
                )
                for e in entries[:25]
            ],
        )
        choose.callback = self.choose  # type: ignore[method-assign]
        self.add_item(choose)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id and interaction.permissions.manage_guild

    async def choose(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        values = data.get("values") or []
        entry = self.by_id.get(str(values[0])) if values else None
        if entry is None:
            await interaction.response.send_message("That catalog entry no longer exists.", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await self.cog.add_feed_text(interaction, entry.url, entry.name)
        await interaction.followup.send(text, ephemeral=True)


class AdminCog(commands.Cog):
    feeds = app_commands.Group(
        name="feeds",
        description="Manage this server's news feeds",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, services: Services) -> None:
        self.services = services

    @feeds.command(name="add", description="Add an RSS/Atom feed for this server")
    @app_commands.describe(url="The feed's http(s) address", name="A short name (default: the feed's title)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 2048],
        name: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        await check_change(self.services, interaction, doing="changing feeds")
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(await self.add_feed_text(interaction, url, name), ephemeral=True)

    @feeds.command(name="remove", description="Remove one of this server's feeds")
    @app_commands.describe(feed="The feed to remove")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_remove(self, interaction: discord.Interaction, feed: int) -> None:
        await check_change(self.services, interaction, doing="changing feeds")
        assert interaction.guild_id is not None
        name = await admin_service.remove_server_feed(
            self.services.sessions, guild_id=interaction.guild_id, feed_id=feed
        )
        text = f"🗑️ Removed **{discord.utils.escape_markdown(name)}**." if name else "This server has no such feed."
        await interaction.response.send_message(text, ephemeral=True)

    @feeds_remove.autocomplete("feed")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        found = await admin_service.server_feed_choices(
            self.services.sessions, guild_id=interaction.guild_id, typed=current
        )
        return [app_commands.Choice(name=name[:100], value=feed_id) for name, feed_id in found]

    @feeds.command(name="list", description="The feeds this server sees, with their health")
    @app_commands.describe(page="Page number")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_list(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        assert interaction.guild_id is not None
        lines = await admin_service.list_feeds(self.services.sessions, guild_id=interaction.guild_id)
        await interaction.response.send_message(feed_lines(lines, page=page, per_page=PAGE), ephemeral=True)

    @feeds.command(name="catalog", description="Add a feed from Storywatch's curated catalog")
    @app_commands.describe(category="Show one category")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_catalog(
        self,
        interaction: discord.Interaction,
        category: Literal["entertainment", "news", "music", "film-tv"] | None = None,
    ) -> None:
        entries = [e for e in load_catalog() if category is None or e.category == category]
        view = CatalogPicker(self, interaction.user.id, entries)
        shown = min(len(entries), 25)
        await interaction.response.send_message(f"Pick one of {shown} catalog feeds to add:", view=view, ephemeral=True)

    @feeds.command(name="export", description="Download this server's feeds as OPML")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_export(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        lines = await admin_service.list_feeds(self.services.sessions, guild_id=interaction.guild.id)
        own = [OpmlFeed(name=line.name, url=line.url) for line in lines if line.kind == "server"]
        data = export_opml(own, title=f"Storywatch feeds of {interaction.guild.name}")
        await interaction.response.send_message(
            f"{len(own)} feeds.",
            file=discord.File(io.BytesIO(data), filename="storywatch-feeds.opml"),
            ephemeral=True,
        )

    @feeds.command(name="import", description="Add the feeds of an OPML file")
    @app_commands.describe(file="An .opml file exported from a feed reader")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def feeds_import(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        await check_change(self.services, interaction, doing="changing feeds")
        if file.size > MAX_OPML_BYTES:
            await interaction.response.send_message(
                f"That file is {file.size // 1024} KB; OPML imports are limited to {MAX_OPML_BYTES // 1000} KB.",
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            parsed = parse_opml(await file.read(), max_bytes=MAX_OPML_BYTES)
        except FeedError as exc:
            await interaction.followup.send(f"⚠️ {exc}", ephemeral=True)
            return
        added, failed = 0, []
        for entry in parsed.feeds:
            text = await self.add_feed_text(interaction, entry.url, entry.name)
            if text.startswith("✅"):
                added += 1
            else:
                failed.append(f"{entry.url}: {text.removeprefix('⚠️ ')}"[:180])
        report = [f"Imported {added} of {len(parsed.feeds)} feeds."]
        if parsed.skipped:
            report.append(f"Skipped {len(parsed.skipped)} entries that were not http(s) feeds.")
        report += [f"• {line}" for line in failed[:10]]
        if len(failed) > 10:
            report.append(f"…and {len(failed) - 10} more failures.")
        await interaction.followup.send("\n".join(report)[:1900], ephemeral=True)

    async def add_feed_text(self, interaction: discord.Interaction, url: str, name: str | None) -> str:
        assert interaction.guild_id is not None
        try:
            preview = await admin_service.add_server_feed(
                self.services.sessions,
                self.services.fetcher,
                self.services.parse_pool,
                self.services.settings,
                guild_id=interaction.guild_id,
                user_id=interaction.user.id,
                url=url,
                name=name,
            )
        except (AdminError, FeedError) as exc:
            return f"⚠️ {exc}"
        heads = "\n".join(f"• {discord.utils.escape_markdown(h)}" for h in preview.headlines) or "(no items yet)"
        verb = "already had" if preview.already_added else "added"
        return (
            f"✅ This server {verb} **{discord.utils.escape_markdown(preview.name)}** (<{preview.url}>).\n"
            f"Latest headlines:\n{heads}"
        )[:1900]

    @app_commands.command(name="settings", description="Show or change how Storywatch alerts in this server")
    @app_commands.describe(
        story_mode="thread: later coverage of a story goes in a thread; separate: every article alerts",
        max_per_window="At most this many alerts per channel per window (the rest are summarized)",
        window_minutes="The flood window's length in minutes",
        quiet_hours='Ping nobody between these times, e.g. 23:00-07:00 ("off" to clear)',
        timezone="The server's time zone, e.g. Europe/Paris",
        search_feeds="Also search the whole news for each follow",
        bundle_alerts="Alerts arriving in a channel together share one message (off: one message each)",
        alert_buttons="Alerts carry a button to follow or unfollow what they matched",
        follow_channel="Allow (or stop allowing) follows in this channel; none listed: every channel",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: discord.Interaction,
        story_mode: Literal["thread", "separate"] | None = None,
        max_per_window: app_commands.Range[int, 1, 100] | None = None,
        window_minutes: app_commands.Range[int, 1, 1440] | None = None,
        quiet_hours: app_commands.Range[str, 1, 20] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        search_feeds: bool | None = None,
        follow_channel: discord.TextChannel | None = None,
        bundle_alerts: bool | None = None,
        alert_buttons: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        changing = any(
            v is not None
            for v in (
                story_mode,
                max_per_window,
                window_minutes,
                quiet_hours,
                timezone,
                search_feeds,
                follow_channel,
                bundle_alerts,
                alert_buttons,
            )
        )
        if changing:
            await check_change(self.services, interaction, doing="changing settings")
        await admin_service.update_settings(
            self.services.sessions,
            guild_id=interaction.guild_id,
            story_mode=story_mode,
            max_per_window=max_per_window,
            window_seconds=window_minutes * 60.0 if window_minutes else None,
            quiet_hours=quiet_hours,
            timezone=timezone,
            search_feeds=search_feeds,
            bundle_alerts=bundle_alerts,
            alert_buttons=alert_buttons,
        )
        if follow_channel is not None:
            await admin_service.toggle_allowed_channel(
                self.services.sessions, guild_id=interaction.guild_id, channel_id=follow_channel.id
            )
        current = await admin_service.effective_settings(
            self.services.sessions, self.services.settings, guild_id=interaction.guild_id
        )
        prefix = "✅ Saved.\n" if changing else ""
        await interaction.response.send_message(prefix + settings_text(current), ephemeral=True)

    @app_commands.command(name="status", description="Storywatch's health in this server")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def status(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        status = await admin_service.guild_status(self.services.sessions, guild_id=interaction.guild_id)
        await interaction.response.send_message(status_text(status), ephemeral=True)
