"""discord.py cogs: parse the interaction, call the core, render the reply."""

from __future__ import annotations

from discord.ext import commands

from bot.services import Services


async def load_cogs(bot: commands.Bot, services: Services) -> None:
    from cogs.admin import AdminCog
    from cogs.alert_controls import AlertButton, ChoiceButton
    from cogs.errors import install_error_handler
    from cogs.follows import FollowsCog
    from cogs.latest import LatestCog
    from cogs.membership import MembershipCog

    install_error_handler(bot)
    bot.add_dynamic_items(AlertButton, ChoiceButton)
    await bot.add_cog(FollowsCog(services))
    await bot.add_cog(LatestCog(services))
    await bot.add_cog(MembershipCog(services))
    await bot.add_cog(AdminCog(services))
