"""DiscordEmulator: the one object a test talks to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulator.api_error import EmulatorUsageError
from tests.emulator.core import API_PREFIX, EmulatorConfig, EmulatorCore
from tests.emulator.faults import DelayRule, FailRule
from tests.emulator.gateway import CLOSE_UNKNOWN_ERROR, GatewaySession
from tests.emulator.interaction import (
    TYPE_APPLICATION_COMMAND,
    TYPE_AUTOCOMPLETE,
    TYPE_MESSAGE_COMPONENT,
    TYPE_MODAL_SUBMIT,
    Interaction,
)
from tests.emulator.interaction_payloads import (
    base_payload,
    command_data,
    component_data,
    modal_submit_data,
)
from tests.emulator.messages import TYPE_DEFAULT
from tests.emulator.models import StandardGuild, StoredFile, StoredMessage
from tests.emulator.payloads import (
    channel_payload,
    member_payload,
    role_payload,
    user_payload,
)
from tests.emulator.permissions import OVERWRITE_MEMBER, Overwrite, Perm
from tests.emulator.recording import RecordedRequest, Stats, find_request
from tests.emulator.server import EmulatorServer


class DiscordEmulator:
    """An in-process Discord (REST + gateway) on 127.0.0.1 for an unmodified discord.py bot.

    Point discord.py at it with ``discord.http.Route.BASE = emu.api_base`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)``.
    Extra keyword options are ``EmulatorConfig`` fields (message_rate, global_limit,
    heartbeat_interval_ms, nonce_window, interaction_deadline, ...).
    """

    def __init__(
        self,
        token: str = "test-token",
        *,
        rate_limits: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise EmulatorUsageError("the emulator only binds to loopback")
        self.config = EmulatorConfig(token=token, rate_limits=rate_limits, host=host, port=port, **options)
        self.core = EmulatorCore(self.config)
        self._server = EmulatorServer(self.core)
        self._running = False

    # ----- lifecycle --------------------------------------------------------------------------

    async def start(self) -> DiscordEmulator:
        port = await self._server.start(self.config.host, self.config.port)
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        self.core.base_url = f"http://{host}:{port}"
        self.core.state.base_url = self.core.base_url
        self._running = True
        return self

    async def stop(self) -> None:
        if self._running:
            self._running = False
            await self._server.stop()

    async def __aenter__(self) -> DiscordEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return self.core.base_url

    @property
    def api_base(self) -> str:
        return self.core.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return self.core.gateway_url

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def application_id(self) -> int:
        return self.core.state.application_id

    @property
    def bot_user_id(self) -> int:
        return self.core.state.bot_user_id

    @property
    def rate_limits(self) -> bool:
        return self.core.limiter.enabled

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self.core.limiter.enabled = enabled

    def advance_time(self, seconds: float) -> None:
        """Move emulator time on (nonce window, interaction deadline, token expiry)."""
        self.core.clock.advance(seconds)

    # ----- builders (state only; use the async event helpers once a bot is connected) --------

    def add_user(self, name: str, *, user_id: int | None = None, bot: bool = False) -> int:
        return self.core.state.add_user(name, user_id=user_id, bot=bot)

    def add_guild(
        self,
        name: str,
        owner_id: int | None = None,
        *,
        guild_id: int | None = None,
        bot_permissions: int | None = None,
    ) -> int:
        kwargs: dict[str, Any] = {"guild_id": guild_id}
        if bot_permissions is not None:
            kwargs["bot_permissions"] = bot_permissions
        return self.core.state.add_guild(name, owner_id, **kwargs)

    def add_text_channel(self, guild_id: int, name: str, *, topic: str | None = None, system: bool = False) -> int:
        return self.core.state.add_text_channel(guild_id, name, topic=topic, system=system)

    def add_role(self, guild_id: int, name: str, permissions: int = 0, *, mentionable: bool = True) -> int:
        return self.core.state.add_role(guild_id, name, permissions, mentionable=mentionable)

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        *,
        name: str | None = None,
        permissions: int | None = None,
        roles: list[int] | tuple[int, ...] = (),
    ) -> int:
        return self.core.state.add_member(guild_id, user_id, name=name, permissions=permissions, roles=roles)

    def standard_guild(self, name: str = "Storywatch Test") -> StandardGuild:
        """#news and #general (the system channel), an owner holding an Admin role
        (Administrator + Manage Guild), and two ordinary members without Manage Guild."""
        owner = self.add_user("owner")
        guild_id = self.add_guild(name, owner)
        admin_role = self.add_role(guild_id, "Admin", Perm.ADMINISTRATOR | Perm.MANAGE_GUILD)
        self.add_member(guild_id, owner, roles=[admin_role])
        news = self.add_text_channel(guild_id, "news", topic="Headlines")
        general = self.add_text_channel(guild_id, "general", system=True)
        alice = self.add_member(guild_id, name="alice")
        bob = self.add_member(guild_id, name="bob")
        return StandardGuild(guild_id, news, general, general, owner, admin_role, (alice, bob))

    def set_bot_channel_permissions(self, channel_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """A member overwrite for the bot (e.g. deny=Perm.SEND_MESSAGES). Announce it to a
        connected bot with ``await emu.channel_update(channel_id)``."""
        self.core.state.set_member_overwrite(channel_id, self.bot_user_id, allow, deny)

    def set_bot_guild_permissions(self, guild_id: int, permissions: int) -> int:
        """Set the bot's managed role permissions; returns the role id (for guild_role_update)."""
        guild = self.core.state.guild(guild_id)
        assert guild.bot_role_id is not None
        guild.roles[guild.bot_role_id].permissions = int(permissions)
        return guild.bot_role_id

    def close_dms(self, user_id: int) -> None:
        """DMs to this user fail with 403 code 50007."""
        self.core.state.users[user_id].dms_open = False

    def open_dms(self, user_id: int) -> None:
        self.core.state.users[user_id].dms_open = True

    def dm_channel(self, user_id: int) -> int:
        """The bot's DM channel with a user (created on first use), e.g. for DM slash commands."""
        return self.core.state.dm_channel_for(user_id).id

    def add_attachment(self, filename: str, data: bytes, content_type: str | None = None) -> StoredFile:
        """A file served by the emulator, usable as an attachment option value."""
        return self.core.state.add_file(filename, data, content_type)

    # ----- gateway events ---------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None) -> int:
        """Send a raw dispatch; routed by guild_id (or data["guild_id"]) to the right shard."""
        if guild_id is None and data.get("guild_id") is not None:
            guild_id = int(data["guild_id"])
        return await self.core.dispatch(event, data, guild_id=guild_id)

    async def guild_join(self, guild_id: int) -> int:
        """The bot is added to a guild (GUILD_CREATE)."""
        guild = self.core.state.guild(guild_id)
        guild.bot_present = True
        return await self.core.hub.dispatch_per_session(
            "GUILD_CREATE", lambda s: self.core.hub.guild_create(s, guild_id), guild_id
        )

    async def guild_remove(self, guild_id: int) -> int:
        """The bot is kicked from a guild (GUILD_DELETE without "unavailable")."""
        self.core.state.guild(guild_id).bot_present = False
        return await self.core.dispatch("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)

    async def member_add(self, guild_id: int, user_id: int | None = None, **kwargs: Any) -> int:
        uid = self.add_member(guild_id, user_id, **kwargs)
        member = self.core.state.guild(guild_id).members[uid]
        data = member_payload(self.core.state, member)
        data["guild_id"] = str(guild_id)
        await self.core.dispatch("GUILD_MEMBER_ADD", data, guild_id=guild_id)
        return uid

    async def member_remove(self, guild_id: int, user_id: int) -> int:
        guild = self.core.state.guild(guild_id)
        if guild.members.pop(user_id, None) is None:
            raise EmulatorUsageError(f"user {user_id} is not in guild {guild_id}")
        data = {"guild_id": str(guild_id), "user": user_payload(self.core.state.users[user_id])}
        return await self.core.dispatch("GUILD_MEMBER_REMOVE", data, guild_id=guild_id)

    async def channel_create(self, guild_id: int, name: str, *, topic: str | None = None) -> int:
        channel_id = self.add_text_channel(guild_id, name, topic=topic)
        payload = channel_payload(self.core.state, self.core.state.channels[channel_id])
        await self.core.dispatch("CHANNEL_CREATE", payload, guild_id=guild_id)
        return channel_id

    async def channel_delete(self, channel_id: int) -> int:
        state = self.core.state
        channel = state.channels.pop(channel_id, None)
        if channel is None or channel.guild_id is None:
            raise EmulatorUsageError(f"no guild channel {channel_id}")
        guild = state.guilds[channel.guild_id]
        doomed = [channel_id] + [
            c for c in guild.channel_ids if state.channels.get(c) and state.channels[c].parent_id == channel_id
        ]
        for cid in doomed:
            if cid in guild.channel_ids:
                guild.channel_ids.remove(cid)
        for thread_id in doomed[1:]:
            thread = state.channels.pop(thread_id)
            data = {
                "id": str(thread_id),
                "guild_id": str(guild.id),
                "parent_id": str(channel_id),
                "type": thread.type,
            }
            await self.core.dispatch("THREAD_DELETE", data, guild_id=guild.id)
        if guild.system_channel_id == channel_id:
            guild.system_channel_id = None
        payload = channel_payload(state, channel)
        return await self.core.dispatch("CHANNEL_DELETE", payload, guild_id=guild.id)

    async def channel_update(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        topic: str | None = None,
        bot_allow: int | None = None,
        bot_deny: int | None = None,
    ) -> int:
        """Change a channel (and/or the bot's overwrite on it) and send CHANNEL_UPDATE."""
        state = self.core.state
        channel = state.channels[channel_id]
        if name is not None:
            channel.name = name
        if topic is not None:
            channel.topic = topic
        if bot_allow is not None or bot_deny is not None:
            current = channel.overwrites.get(self.bot_user_id) or Overwrite(self.bot_user_id, OVERWRITE_MEMBER)
            allow = current.allow if bot_allow is None else int(bot_allow)
            deny = current.deny if bot_deny is None else int(bot_deny)
            state.set_member_overwrite(channel_id, self.bot_user_id, allow, deny)
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        payload = channel_payload(state, channel)
        return await self.core.dispatch(event, payload, guild_id=channel.guild_id)

    async def guild_role_update(
        self,
        guild_id: int,
        role_id: int,
        *,
        permissions: int | None = None,
        name: str | None = None,
        mentionable: bool | None = None,
    ) -> int:
        role = self.core.state.guild(guild_id).roles[role_id]
        if permissions is not None:
            role.permissions = int(permissions)
        if name is not None:
            role.name = name
        if mentionable is not None:
            role.mentionable = mentionable
        data = {"guild_id": str(guild_id), "role": role_payload(role)}
        return await self.core.dispatch("GUILD_ROLE_UPDATE", data, guild_id=guild_id)

    async def user_message(self, channel_id: int, user_id: int, content: str) -> dict[str, Any]:
        """A member posts a message (MESSAGE_CREATE; content stripped without the intent)."""
        state = self.core.state
        channel = state.channels[channel_id]
        data = {
            "id": str(state.ids.next()),
            "channel_id": str(channel_id),
            "type": TYPE_DEFAULT,
            "content": content,
            "author": user_payload(state.users[user_id]),
            "attachments": [],
            "embeds": [],
            "components": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": state.clock.iso_now(),
            "edited_timestamp": None,
            "flags": 0,
        }
        stored = StoredMessage(data, channel.id)
        state.store_message(stored)
        await self.core.dispatch_message("MESSAGE_CREATE", stored)
        return data

    # ----- interactions -----------------------------------------------------------------------

    async def slash_command(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        group: str | None = None,
    ) -> Interaction:
        """Invoke a synced chat-input command as ``user_id`` would (INTERACTION_CREATE type 2)."""
        state = self.core.state
        payload = base_payload(state, TYPE_APPLICATION_COMMAND, guild_id, channel_id, user_id)
        payload["data"] = command_data(
            state,
            guild_id=guild_id,
            user_id=user_id,
            name=name,
            options=options,
            subcommand=subcommand,
            group=group,
        )
        return await self._inject(payload, guild_id)

    async def autocomplete(
        self,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        options: dict[str, Any] | None,
        focused: str,
        subcommand: str | None = None,
        group: str | None = None,
    ) -> Interaction:
        """The user is typing into option ``focused`` (INTERACTION_CREATE type 4)."""
        state = self.core.state
        payload = base_payload(state, TYPE_AUTOCOMPLETE, guild_id, channel_id, user_id)
        payload["data"] = command_data(
            state,
            guild_id=guild_id,
            user_id=user_id,
            name=name,
            options=options,
            subcommand=subcommand,
            group=group,
            focused=focused,
        )
        return await self._inject(payload, guild_id)

    async def click_component(
        self,
        message: dict[str, Any],
        custom_id: str,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        values: list[str] | None = None,
    ) -> Interaction:
        """Click a button / pick select values on a message the bot sent (type 3)."""
        state = self.core.state
        stored = state.messages.get(int(message["id"]))
        if stored is None or stored.deleted:
            raise EmulatorUsageError(f"message {message.get('id')} does not exist (deleted?)")
        current = stored.data  # always click on the message as it is now
        channel_id = channel_id if channel_id is not None else stored.channel_id
        if guild_id is None:
            guild_id = state.channels[stored.channel_id].guild_id
        payload = base_payload(state, TYPE_MESSAGE_COMPONENT, guild_id, channel_id, user_id)
        payload["data"] = component_data(current, custom_id, values)
        payload["message"] = dict(current)
        return await self._inject(payload, guild_id, source_message_id=stored.id)

    async def submit_modal(
        self, interaction: Interaction, values: dict[str, Any], *, user_id: int | None = None
    ) -> Interaction:
        """Submit the modal the bot answered ``interaction`` with (type 5)."""
        modal = interaction.modal
        if modal is None:
            raise EmulatorUsageError(f"interaction {interaction.id} was not answered with a modal")
        state = self.core.state
        who = interaction.user_id if user_id is None else user_id
        guild_id = interaction.guild_id
        payload = base_payload(state, TYPE_MODAL_SUBMIT, guild_id, interaction.channel_id, who)
        payload["data"] = modal_submit_data(modal, values)
        source = interaction.source_message_id
        if source is not None and source in state.messages:
            payload["message"] = dict(state.messages[source].data)
        return await self._inject(payload, guild_id, source_message_id=source)

    async def _inject(
        self, payload: dict[str, Any], guild_id: int | None, *, source_message_id: int | None = None
    ) -> Interaction:
        core = self.core
        interaction = Interaction(
            state=core.state,
            notifier=core.notifier,
            payload=payload,
            dispatched_at=core.clock.now(),
            source_message_id=source_message_id,
        )
        core.interactions[interaction.id] = interaction
        core.interactions_by_token[interaction.token] = interaction
        interaction.delivered_to = await core.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        if interaction.delivered_to == 0:
            raise EmulatorUsageError("no gateway session (live or resumable) covers this guild")
        return interaction

    # ----- inspection -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.core.requests

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests no route matched (404/405): usually a bug in the emulator or the bot."""
        return self.core.unknown_requests

    @property
    def stats(self) -> Stats:
        return self.core.stats

    def mark(self) -> int:
        """Index of the next request; pass as ``since=`` to ignore earlier requests."""
        return len(self.core.requests)

    def messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages that exist in the channel now (edits applied, deletions gone), oldest first."""
        return [m.data for m in self.core.state.live_messages(channel_id)]

    def all_messages(self) -> list[dict[str, Any]]:
        """Every existing non-ephemeral message in every channel, oldest first."""
        stored = [m for m in self.core.state.messages.values() if not m.deleted and not m.ephemeral]
        return [m.data for m in sorted(stored, key=lambda m: m.id)]

    def message(self, message_id: int) -> dict[str, Any] | None:
        stored = self.core.state.messages.get(message_id)
        return None if stored is None or stored.deleted else stored.data

    def allowed_mentions(self, message_id: int) -> dict[str, Any] | None:
        """The allowed_mentions the bot sent with (or last edited into) a message."""
        stored = self.core.state.messages.get(message_id)
        return None if stored is None else stored.allowed_mentions

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        channel_id = self.core.state.dm_channel_by_user.get(user_id)
        return [] if channel_id is None else self.messages(channel_id)

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return list(self.core.state.commands.get(guild_id, []))

    def interactions(self) -> list[Interaction]:
        return list(self.core.interactions.values())

    @property
    def sessions(self) -> list[GatewaySession]:
        return list(self.core.hub.sessions.values())

    @property
    def connected(self) -> bool:
        """A session is identified, has its GUILD_CREATEs, and its socket is open."""
        return bool(self.core.hub.ready_sessions())

    @property
    def gateway_frames(self) -> list[dict[str, Any]]:
        """Every frame clients sent on the gateway, except heartbeats."""
        return self.core.hub.received

    # ----- waiting ----------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        await self.core.notifier.wait_until(predicate, timeout)

    async def wait_for_request(
        self,
        method: str,
        path_regex: str,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> RecordedRequest:
        """First recorded request (at index >= since) matching; waits for it if needed."""
        found: list[RecordedRequest] = []

        def check() -> bool:
            hit = find_request(self.core.requests, method, path_regex, since)
            if hit is not None:
                found.append(hit)
            return hit is not None

        await self.core.notifier.wait_until(check, timeout, f"{method} {path_regex}")
        return found[0]

    async def wait_ready(self, timeout: float = 10.0, count: int = 1) -> None:
        await self.core.notifier.wait_until(
            lambda: len(self.core.hub.ready_sessions()) >= count, timeout, "gateway READY"
        )

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def check() -> bool:
            for message in self.messages(channel_id):
                if predicate is None or predicate(message):
                    found.append(message)
                    return True
            return False

        await self.core.notifier.wait_until(check, timeout, f"a message in {channel_id}")
        return found[0]

    # ----- gateway control and failure injection ----------------------------------------------

    async def disconnect_all(self, code: int = CLOSE_UNKNOWN_ERROR) -> None:
        """Close every gateway socket (sessions stay resumable)."""
        await self.core.hub.disconnect_all(code)

    async def request_reconnect(self) -> None:
        await self.core.hub.request_reconnect()

    async def invalidate_sessions(self) -> None:
        await self.core.hub.invalidate_sessions()

    async def set_outage(self, on: bool, *, disconnect: bool = True) -> None:
        """Every REST route answers 503 and websocket upgrades are refused while on."""
        self.core.faults.outage = on
        if on and disconnect:
            await self.core.hub.disconnect_all(CLOSE_UNKNOWN_ERROR)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        json: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
        count: int = 1,
        headers: dict[str, str] | None = None,
        is_global: bool = False,
    ) -> FailRule:
        """The next ``count`` requests matching (method or "*", re.search on the path after
        /api/v10) get this status and JSON instead of being handled."""
        return self.core.faults.fail_next(
            method,
            path_regex,
            status,
            json,
            retry_after=retry_after,
            count=count,
            headers=headers,
            is_global=is_global,
        )

    def delay_next(
        self, method: str, path_regex: str, seconds: float, count: int = 1, *, apply: bool = True
    ) -> DelayRule:
        """Hold matching requests for ``seconds``; then handle them (apply=True, like a slow
        Discord that still did the work) or answer 504 without doing anything."""
        return self.core.faults.delay_next(method, path_regex, seconds, count=count, apply=apply)

    def clear_faults(self) -> None:
        self.core.faults.clear()
