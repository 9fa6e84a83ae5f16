"""Follows follow the server: members who leave and deleted channels take theirs along."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.services import Services
from db.repo import deliveries as delivery_repo
from db.repo import follows as follow_repo

log = logging.getLogger("storywatch.membership")


class MembershipCog(commands.Cog):
    def __init__(self, services: Services) -> None:
        self.services = services

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        async with self.services.sessions.begin() as session:
            removed = await follow_repo.remove_member(session, guild_id=payload.guild_id, user_id=payload.user.id)
        if removed:
            log.info(
                "member left; follows dropped",
                extra={"guild_id": payload.guild_id, "count": removed},
            )
        await self.services.refresh_matcher()

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        async with self.services.sessions.begin() as session:
            gone = await follow_repo.remove_channel(session, channel_id=channel.id)
            await delivery_repo.cancel_channel(session, channel.id, reason="channel deleted")
        if gone:
            log.info(
                "channel deleted; follows dropped",
                extra={"guild_id": channel.guild.id, "count": len(gone)},
            )
        await self.services.refresh_matcher()

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        async with self.services.sessions.begin() as session:
            await follow_repo.remove_guild(session, guild_id=guild.id)
        await self.services.refresh_matcher()

    async def _probe(self, guild_id: int) -> None:
        async with self.services.sessions.begin() as session:
            lifted = await delivery_repo.probe_guild_channels(session, guild_id)
        if lifted:
            log.info("permissions changed; paused channels will try again", extra={"guild_id": guild_id})

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel) -> None:
        await self._probe(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        await self._probe(after.guild.id)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        if after.id == after.guild.me.id and before.roles != after.roles:
            await self._probe(after.guild.id)
