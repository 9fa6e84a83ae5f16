"""Everything the emulated Discord knows: users, guilds, channels, messages, commands."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from tests.emulator import api_error as err
from tests.emulator.api_error import ApiError, EmulatorUsageError
from tests.emulator.clock import EmulatorClock, SnowflakeFactory
from tests.emulator.models import (
    CHANNEL_DM,
    CHANNEL_TEXT,
    Channel,
    Guild,
    Member,
    Role,
    StoredFile,
    StoredMessage,
    User,
)
from tests.emulator.permissions import (
    BOT_DEFAULT,
    EVERYONE_DEFAULT,
    OVERWRITE_MEMBER,
    Overwrite,
    apply_overwrites,
    base_permissions,
)


@dataclass
class NonceRecord:
    message_id: int
    created_at: float  # emulator clock


class EmulatorState:
    def __init__(self, clock: EmulatorClock, *, bot_name: str = "Storywatch") -> None:
        self.clock = clock
        self.ids = SnowflakeFactory(clock)
        self.base_url = ""  # set once the server knows its port; prefixes attachment urls
        self.application_id = self.ids.next()
        self.application_owner_id = self.ids.next()
        self.bot_user_id = self.application_id  # Discord bots share the application's id
        self.users: dict[int, User] = {
            self.bot_user_id: User(self.bot_user_id, bot_name, None, bot=True),
            self.application_owner_id: User(self.application_owner_id, "app-owner"),
        }
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.files: dict[int, StoredFile] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.nonces: dict[tuple[int, str], NonceRecord] = {}
        self.dm_channel_by_user: dict[int, int] = {}

    # ----- builders -------------------------------------------------------------------------

    def add_user(self, name: str, *, user_id: int | None = None, bot: bool = False) -> int:
        uid = self.ids.reserve(user_id) if user_id is not None else self.ids.next()
        if uid in self.users:
            raise EmulatorUsageError(f"user {uid} already exists")
        self.users[uid] = User(uid, name, name.title(), bot=bot)
        return uid

    def add_guild(
        self,
        name: str,
        owner_id: int | None = None,
        *,
        guild_id: int | None = None,
        bot_permissions: int = BOT_DEFAULT,
        everyone_permissions: int = EVERYONE_DEFAULT,
    ) -> int:
        gid = self.ids.reserve(guild_id) if guild_id is not None else self.ids.next_guild()
        if gid in self.guilds:
            raise EmulatorUsageError(f"guild {gid} already exists")
        if owner_id is None:
            owner_id = self.add_user(f"{name}-owner".lower().replace(" ", "-"))
        elif owner_id not in self.users:
            self.users[owner_id] = User(owner_id, f"user{owner_id}")
        guild = Guild(gid, name, owner_id, joined_at=self.clock.iso_now())
        guild.roles[gid] = Role(gid, gid, "@everyone", int(everyone_permissions), 0)
        bot_role_id = self.ids.next()
        bot_name = self.users[self.bot_user_id].username
        guild.roles[bot_role_id] = Role(
            bot_role_id,
            gid,
            bot_name,
            int(bot_permissions),
            1,
            managed=True,
            bot_id=self.bot_user_id,
        )
        guild.bot_role_id = bot_role_id
        self.guilds[gid] = guild
        self._join(guild, owner_id, [])
        self._join(guild, self.bot_user_id, [bot_role_id])
        return gid

    def add_text_channel(self, guild_id: int, name: str, *, topic: str | None = None, system: bool = False) -> int:
        guild = self.guild(guild_id)
        cid = self.ids.next()
        position = len(guild.channel_ids)
        self.channels[cid] = Channel(cid, CHANNEL_TEXT, name, guild_id, position, topic)
        guild.channel_ids.append(cid)
        self.channel_messages[cid] = []
        if system:
            guild.system_channel_id = cid
        return cid

    def add_role(self, guild_id: int, name: str, permissions: int = 0, *, mentionable: bool = True) -> int:
        guild = self.guild(guild_id)
        rid = self.ids.next()
        guild.roles[rid] = Role(rid, guild_id, name, int(permissions), len(guild.roles), mentionable)
        return rid

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        *,
        name: str | None = None,
        permissions: int | None = None,
        roles: list[int] | tuple[int, ...] = (),
    ) -> int:
        guild = self.guild(guild_id)
        if user_id is None:
            user_id = self.add_user(name or f"member{len(guild.members)}")
        elif user_id not in self.users:
            self.users[user_id] = User(user_id, name or f"user{user_id}")
        role_ids = list(roles)
        for rid in role_ids:
            if rid not in guild.roles:
                raise EmulatorUsageError(f"role {rid} is not in guild {guild_id}")
        if permissions is not None:
            # A personal role makes "this member has exactly these extra permissions" easy.
            username = self.users[user_id].username
            role_ids.append(self.add_role(guild_id, f"{username}-perms", permissions))
        self._join(guild, user_id, role_ids)
        return user_id

    def _join(self, guild: Guild, user_id: int, role_ids: list[int]) -> None:
        guild.members[user_id] = Member(user_id, guild.id, role_ids, self.clock.iso_now())

    def add_file(self, filename: str, data: bytes, content_type: str | None = None) -> StoredFile:
        fid = self.ids.next()
        if content_type is None:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = StoredFile(fid, filename, content_type, data)
        self.files[fid] = stored
        return stored

    def dm_channel_for(self, user_id: int) -> Channel:
        existing = self.dm_channel_by_user.get(user_id)
        if existing is not None:
            return self.channels[existing]
        cid = self.ids.next()
        channel = Channel(cid, CHANNEL_DM, "", None, recipient_id=user_id)
        self.channels[cid] = channel
        self.channel_messages[cid] = []
        self.dm_channel_by_user[user_id] = cid
        return channel

    # ----- lookups (raise Discord-shaped errors) --------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise EmulatorUsageError(f"no guild {guild_id}") from None

    def api_guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise err.unknown("Guild", err.UNKNOWN_GUILD)
        if not guild.bot_present:
            raise err.missing_access()
        return guild

    def api_channel(self, channel_id: int) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise err.unknown("Channel", err.UNKNOWN_CHANNEL)
        if channel.guild_id is not None and not self.guilds[channel.guild_id].bot_present:
            raise err.missing_access()
        return channel

    def api_message(self, channel_id: int, message_id: int) -> StoredMessage:
        stored = self.messages.get(message_id)
        if stored is None or stored.deleted or stored.channel_id != channel_id or stored.ephemeral:
            raise err.unknown("Message", err.UNKNOWN_MESSAGE)
        return stored

    def api_user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise err.unknown("User", err.UNKNOWN_USER)
        return user

    # ----- permissions ----------------------------------------------------------------------

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return base_permissions(
            user_id=user_id,
            owner_id=guild.owner_id,
            everyone=guild.roles[guild.id].permissions,
            role_permissions=[guild.roles[r].permissions for r in member.roles if r in guild.roles],
        )

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        channel = self.channels[channel_id]
        if channel.guild_id is None:
            return 0
        if channel.is_thread and channel.parent_id is not None:
            channel = self.channels[channel.parent_id]  # threads inherit the parent's
        guild = self.guilds[channel.guild_id]  # type: ignore[index]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return apply_overwrites(
            self.guild_permissions(guild.id, user_id),
            guild_id=guild.id,
            user_id=user_id,
            member_role_ids=member.roles,
            overwrites=channel.overwrites,
        )

    def bot_channel_permissions(self, channel_id: int) -> int:
        return self.channel_permissions(channel_id, self.bot_user_id)

    def set_member_overwrite(self, channel_id: int, user_id: int, allow: int, deny: int) -> None:
        channel = self.channels[channel_id]
        channel.overwrites[user_id] = Overwrite(user_id, OVERWRITE_MEMBER, int(allow), int(deny))

    # ----- messages -------------------------------------------------------------------------

    def store_message(self, stored: StoredMessage) -> None:
        self.messages[stored.id] = stored
        if not stored.ephemeral:
            self.channel_messages.setdefault(stored.channel_id, []).append(stored.id)
            channel = self.channels.get(stored.channel_id)
            if channel is not None:
                channel.last_message_id = stored.id
                if channel.is_thread:
                    channel.message_count += 1

    def live_messages(self, channel_id: int) -> list[StoredMessage]:
        ids = self.channel_messages.get(channel_id, [])
        return [self.messages[m] for m in ids if not self.messages[m].deleted]

    def check_guild_member(self, guild_id: int, user_id: int) -> Member:
        guild = self.api_guild(guild_id)
        member = guild.members.get(user_id)
        if member is None:
            raise ApiError(404, err.UNKNOWN_MEMBER, "Unknown Member")
        return member
