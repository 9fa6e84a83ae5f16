"""The button under a channel alert: follow what it matched, or stop following it.

Both buttons are ``DynamicItem``s: their state (the alert's message id, which follow) is
in the custom id, so they keep working after a restart, and discord.py keeps nothing per
alert sent (a plain persistent view would be stored for every message, forever).
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot import follow_service
from bot.services import Services
from cogs.errors import reply_error, reply_privately
from cogs.render import alert_choices_text
from cogs.throttle import check_change, check_read

ALERT_BUTTON_ID = "sw:alert"
# A button's label holds 80 characters; the query is cut to fit beside the verb.
QUERY_IN_LABEL = 60
TOO_OLD = "This alert is too old to follow from here. Use `/follow` instead."


def alert_view() -> discord.ui.View:
    """What a channel alert carries: the one button that opens its follow choices."""
    view = discord.ui.View(timeout=None)
    view.add_item(AlertButton())
    return view


def _services(interaction: discord.Interaction) -> Services:
    services: Services = getattr(interaction.client, "services")  # noqa: B009 (the bot's own attribute)
    return services


async def _choices(interaction: discord.Interaction, message_id: int) -> list[follow_service.AlertChoice]:
    assert interaction.guild_id is not None
    assert interaction.channel_id is not None
    return await follow_service.alert_choices(
        _services(interaction).sessions,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=interaction.user.id,
        message_id=message_id,
    )


def choices_view(message_id: int, choices: list[follow_service.AlertChoice]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for index, choice in enumerate(choices):
        view.add_item(ChoiceButton("unfollow" if choice.following else "follow", message_id, index, choice.query))
    return view


class AlertButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=re.escape(ALERT_BUTTON_ID)):
    """On every channel alert; answers the member who clicks, privately."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Follow / unfollow", emoji="🔔", style=discord.ButtonStyle.secondary, custom_id=ALERT_BUTTON_ID
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None or interaction.message is None:
            await reply_privately(interaction, "This button only works on an alert in a server channel.")
            return
        message_id = interaction.message.id
        try:
            await check_read(_services(interaction), interaction)
            choices = await _choices(interaction, message_id)
        except Exception as error:  # every failure gets a reply; ours are logged
            await reply_error(interaction, error)
            return
        if not choices:
            await reply_privately(interaction, TOO_OLD)
            return
        await interaction.response.send_message(
            alert_choices_text(choices),
            view=choices_view(message_id, choices),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


class ChoiceButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"sw:alert:(?P<action>follow|unfollow):(?P<message_id>\d+):(?P<index>\d+)",
):
    """Follow or unfollow one of an alert's follows in the alert's channel."""

    def __init__(self, action: str, message_id: int, index: int, query: str = "") -> None:
        label = f"{'Unfollow' if action == 'unfollow' else 'Follow'} {query[:QUERY_IN_LABEL]}".strip()
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.danger if action == "unfollow" else discord.ButtonStyle.primary,
                custom_id=f"sw:alert:{action}:{message_id}:{index}",
            )
        )
        self.action, self.message_id, self.index = action, message_id, index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ChoiceButton:
        return cls(match["action"], int(match["message_id"]), int(match["index"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None or interaction.channel_id is None:
            await reply_privately(interaction, "This button only works in a server channel.")
            return
        try:
            await check_change(_services(interaction), interaction)
            choices = await _choices(interaction, self.message_id)
            if self.index >= len(choices):
                await reply_privately(interaction, TOO_OLD)
                return
            done = await self._apply(interaction, choices[self.index].query)
            choices = await _choices(interaction, self.message_id)
        except Exception as error:  # every failure gets a reply; ours are logged
            await reply_error(interaction, error)
            return
        await interaction.response.edit_message(
            content=alert_choices_text(choices, done=done),
            view=choices_view(self.message_id, choices),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def _apply(self, interaction: discord.Interaction, query: str) -> str:
        """Follow or unfollow ``query`` in the alert's channel; what was done, to show."""
        assert interaction.guild_id is not None
        assert interaction.channel_id is not None
        services = _services(interaction)
        guild_id, channel_id, user_id = interaction.guild_id, interaction.channel_id, interaction.user.id
        if self.action == "follow":
            result = await follow_service.follow(
                services.sessions,
                services.matcher,
                services.settings,
                guild_id=guild_id,
                channel_id=channel_id,
                user_id=user_id,
                text=query,
                preview=False,  # the alert itself is what it matched
            )
            return f"✅ Following `{result.query}` in this channel."
        normalized, removed = await follow_service.unfollow(
            services.sessions,
            services.matcher,
            services.settings,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            text=query,
        )
        return f"Unfollowed `{normalized}`." if removed else f"You no longer followed `{normalized}`."
