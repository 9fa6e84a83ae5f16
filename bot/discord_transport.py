"""AlertTransport over discord.py: sends with a stable nonce and explicit allowed mentions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp
import discord

from bot.delivery.transport import SendFailure

log = logging.getLogger("storywatch.discord")
SEND_TIMEOUT = 30.0
T = TypeVar("T")


def only_members(user_ids: Sequence[int]) -> discord.AllowedMentions:
    """Pings exactly these members: never @everyone, @here, roles or a replied user."""
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        replied_user=False,
        users=[discord.Object(id=u) for u in user_ids],
    )


async def _post(
    channel: discord.PartialMessageable,
    content: str | None,
    embeds: Sequence[dict[str, object]],
    nonce: str,
    mentions: discord.AllowedMentions,
    view: discord.ui.View | None = None,
) -> int:
    as_embeds = [discord.Embed.from_dict(embed) for embed in embeds]
    if view is None:
        request = channel.send(content=content, embeds=as_embeds, nonce=nonce, allowed_mentions=mentions)
    else:
        request = channel.send(content=content, embeds=as_embeds, nonce=nonce, allowed_mentions=mentions, view=view)
    message = await _call(request)
    return int(message.id)


async def _call(request: Awaitable[T]) -> T:
    """Run one Discord request, turning every way it can fail into a SendFailure."""
    try:
        return await asyncio.wait_for(request, timeout=SEND_TIMEOUT)
    except discord.RateLimited as exc:
        raise SendFailure("rate limited", status=429, retry_after=exc.retry_after) from None
    except discord.HTTPException as exc:
        raise SendFailure(exc.text or str(exc.status), status=exc.status, code=exc.code) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        # The request may or may not have reached Discord: the same nonce is re-sent.
        raise SendFailure(f"no answer from Discord ({type(exc).__name__})", status=None) from None


class DiscordTransport:
    def __init__(self, client: discord.Client, *, alert_view: Callable[[], discord.ui.View] | None = None) -> None:
        """``alert_view`` builds the buttons a channel alert carries (the cogs register
        their handlers); None sends alerts without buttons."""
        self._client = client
        self._alert_view = alert_view

    def _message(self, channel_id: int, message_id: int) -> discord.PartialMessage:
        return self._client.get_partial_messageable(channel_id).get_partial_message(message_id)

    async def send(
        self,
        channel_id: int,
        *,
        content: str | None,
        embeds: Sequence[dict[str, object]],
        user_ids: Sequence[int],
        nonce: str,
        alert_buttons: bool = False,
    ) -> int:
        channel = self._client.get_partial_messageable(channel_id)
        view = self._alert_view() if alert_buttons and self._alert_view is not None else None
        return await _post(channel, content, embeds, nonce, only_members(user_ids), view)

    async def send_dm(self, user_id: int, *, content: str | None, embed: dict[str, object] | None, nonce: str) -> int:
        channel = await _call(self._client.http.start_private_message(user_id))
        messageable = self._client.get_partial_messageable(int(channel["id"]))
        return await _post(messageable, content, [embed] if embed else [], nonce, discord.AllowedMentions.none())

    async def create_thread(self, channel_id: int, message_id: int, *, name: str) -> int:
        # Straight to the route: a partial message lacks the guild info discord.py wants.
        thread = await _call(
            self._client.http.start_thread_with_message(
                channel_id,
                message_id,
                name=name[:100] or "More coverage",
                auto_archive_duration=1440,
            )
        )
        return int(thread["id"])

    async def unarchive_thread(self, thread_id: int) -> None:
        await _call(self._client.http.edit_channel(thread_id, archived=False))

    async def edit_embeds(self, channel_id: int, message_id: int, embeds: Sequence[dict[str, object]]) -> None:
        await _call(self._message(channel_id, message_id).edit(embeds=[discord.Embed.from_dict(e) for e in embeds]))

    async def is_member(self, guild_id: int, user_id: int) -> bool | None:
        guild = self._client.get_guild(guild_id)
        if guild is not None and guild.get_member(user_id) is not None:
            return True
        try:
            await _call(self._client.http.get_member(guild_id, user_id))
        except SendFailure as failure:
            return False if failure.status == 404 else None
        return True

    async def notify_member(self, guild_id: int, user_id: int, text: str) -> bool:
        """A DM; when DMs are closed, the server's system channel if the bot may post there."""
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            await _call(user.send(text, allowed_mentions=discord.AllowedMentions.none()))
            return True
        except (SendFailure, discord.HTTPException):
            pass
        guild = self._client.get_guild(guild_id)
        channel = guild.system_channel if guild else None
        if guild is None or channel is None or not channel.permissions_for(guild.me).send_messages:
            log.info("could not notify a member", extra={"guild_id": guild_id, "user_id": user_id})
            return False
        try:
            await _call(channel.send(f"<@{user_id}> {text}", allowed_mentions=only_members([user_id])))
            return True
        except SendFailure:
            return False
