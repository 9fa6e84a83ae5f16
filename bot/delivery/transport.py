"""The seam between the sender and Discord: a protocol the Discord client implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.errors import SendFailure

__all__ = ["AlertTransport", "SendFailure"]


class AlertTransport(Protocol):
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
        """Post a message (up to 10 embeds) that may ping only ``user_ids``; return its id
        or raise SendFailure. ``alert_buttons``: it is a channel alert, and carries the
        button that lets a member follow or unfollow what it matched."""
        ...

    async def send_dm(self, user_id: int, *, content: str | None, embed: dict[str, object] | None, nonce: str) -> int:
        """A direct message to a member; SendFailure (e.g. 403 code 50007) when DMs are closed."""
        ...

    async def create_thread(self, channel_id: int, message_id: int, *, name: str) -> int:
        """Start a public thread on a message; return the thread's id."""
        ...

    async def unarchive_thread(self, thread_id: int) -> None: ...

    async def edit_embeds(self, channel_id: int, message_id: int, embeds: Sequence[dict[str, object]]) -> None:
        """Replace a message's embeds (all of them: pass every one it should keep)."""
        ...

    async def is_member(self, guild_id: int, user_id: int) -> bool | None:
        """Whether the user is still in the server; None when Discord could not say."""
        ...

    async def notify_member(self, guild_id: int, user_id: int, text: str) -> bool:
        """Tell one member something privately (DM, else the server's system channel)."""
        ...
