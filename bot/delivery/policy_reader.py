"""A server's alert policy as the sender reads it: its /settings row over the [alerts]
defaults, read once per drain and trusted for a few seconds."""

from __future__ import annotations

import time

from bot.delivery.context import SendContext
from bot.delivery.policy import AlertPolicy, policy_of
from db.repo import guild_settings as guild_repo


async def policy_for(ctx: SendContext, guild_id: int) -> AlertPolicy:
    async with ctx.sessions() as session:
        row = await guild_repo.get(session, guild_id)
    return policy_of(row, ctx.alerts)


class PolicyReader:
    """A drain reads a server's policy once and trusts it for a few seconds, instead of a
    read per alert; a setting changed meanwhile applies from the next read."""

    def __init__(self, ctx: SendContext, *, fresh_for: float = 5.0) -> None:
        self._ctx = ctx
        self._fresh_for = fresh_for
        self._read: dict[int, tuple[float, AlertPolicy]] = {}

    async def of(self, guild_id: int) -> AlertPolicy:
        now = time.monotonic()
        found = self._read.get(guild_id)
        if found is None or now - found[0] > self._fresh_for:
            found = self._read[guild_id] = (now, await policy_for(self._ctx, guild_id))
        return found[1]
