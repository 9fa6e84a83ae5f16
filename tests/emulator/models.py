"""The emulator's own records of Discord entities (serialized by payloads.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.emulator.permissions import Overwrite

CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_CATEGORY = 4
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
THREAD_TYPES = (CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int
    mentionable: bool = True
    managed: bool = False
    bot_id: int | None = None


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int]
    joined_at: str
    nick: str | None = None


@dataclass
class Channel:
    id: int
    type: int
    name: str
    guild_id: int | None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    recipient_id: int | None = None  # DM channels only
    # Thread fields (types 11/12).
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: str | None = None
    create_timestamp: str | None = None
    message_count: int = 0
    member_count: int = 1
    invitable: bool = True

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    system_channel_id: int | None = None
    bot_role_id: int | None = None
    bot_present: bool = True


@dataclass
class StoredFile:
    id: int
    filename: str
    content_type: str
    data: bytes

    @property
    def path(self) -> str:
        return f"/attachments/{self.id}/{self.filename}"

    def attachment_payload(self, base_url: str) -> dict[str, Any]:
        url = base_url + self.path
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }


@dataclass
class StoredMessage:
    """One message; ``data`` is exactly what Discord would return for it."""

    data: dict[str, Any]
    channel_id: int
    ephemeral: bool = False
    interaction_id: int | None = None
    allowed_mentions: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.data["id"])


@dataclass(frozen=True)
class StandardGuild:
    """Ids built by ``DiscordEmulator.standard_guild()``."""

    guild_id: int
    news_channel_id: int
    general_channel_id: int
    system_channel_id: int
    owner_id: int
    admin_role_id: int
    member_ids: tuple[int, int]
