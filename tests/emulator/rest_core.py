"""REST: users, application, gateway discovery, guilds, members, DMs."""

from __future__ import annotations

from typing import Any

from tests.emulator import api_error as err
from tests.emulator.api_error import ApiError
from tests.emulator.core import EmulatorCore
from tests.emulator.models import Guild
from tests.emulator.payloads import (
    application_payload,
    channel_payload,
    member_payload,
    role_payload,
    user_payload,
)
from tests.emulator.routing import ApiRequest, ApiResponse, RouteTable


def register(table: RouteTable, core: EmulatorCore) -> None:
    state = core.state

    async def get_me(_: ApiRequest) -> ApiResponse:
        payload = user_payload(state.users[state.bot_user_id])
        payload.update(verified=True, mfa_enabled=False, locale="en-US", email=None)
        return ApiResponse(body=payload)

    async def get_user(req: ApiRequest) -> ApiResponse:
        return ApiResponse(body=user_payload(state.api_user(req.snowflake("user_id"))))

    async def get_application(_: ApiRequest) -> ApiResponse:
        return ApiResponse(body=application_payload(state, flags=0))

    async def get_gateway(_: ApiRequest) -> ApiResponse:
        return ApiResponse(body={"url": core.gateway_url})

    async def get_gateway_bot(_: ApiRequest) -> ApiResponse:
        limit = {
            "total": 1000,
            "remaining": max(1000 - core.stats.identifies, 0),
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        }
        body = {
            "url": core.gateway_url,
            "shards": core.config.recommended_shards,
            "session_start_limit": limit,
        }
        return ApiResponse(body=body)

    async def get_guild(req: ApiRequest) -> ApiResponse:
        guild = state.api_guild(req.snowflake("guild_id"))
        body = _guild_payload(guild)
        if req.flag("with_counts"):
            body["approximate_member_count"] = len(guild.members)
            body["approximate_presence_count"] = 0
        return ApiResponse(body=body)

    async def get_guild_channels(req: ApiRequest) -> ApiResponse:
        guild = state.api_guild(req.snowflake("guild_id"))
        channels = [state.channels[c] for c in guild.channel_ids]
        body = [channel_payload(state, c) for c in channels if not c.is_thread]
        return ApiResponse(body=body)

    async def get_guild_roles(req: ApiRequest) -> ApiResponse:
        guild = state.api_guild(req.snowflake("guild_id"))
        return ApiResponse(body=[role_payload(r) for r in guild.roles.values()])

    async def get_member(req: ApiRequest) -> ApiResponse:
        member = state.check_guild_member(req.snowflake("guild_id"), req.snowflake("user_id"))
        return ApiResponse(body=member_payload(state, member))

    async def leave_guild(req: ApiRequest) -> ApiResponse:
        guild = state.api_guild(req.snowflake("guild_id"))
        guild.bot_present = False
        await core.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id)
        return ApiResponse(status=204)

    async def create_dm(req: ApiRequest) -> ApiResponse:
        raw = str(req.body().get("recipient_id"))
        user = state.users.get(int(raw)) if raw.isdigit() else None
        if user is None or user.bot:
            raise ApiError(400, err.INVALID_RECIPIENT, "Invalid Recipient(s)")
        channel = state.dm_channel_for(user.id)
        return ApiResponse(body=channel_payload(state, channel))

    table.add("GET", "/users/@me", get_me)
    table.add("GET", "/users/{user_id}", get_user)
    table.add("GET", "/oauth2/applications/@me", get_application)
    table.add("GET", "/applications/@me", get_application)
    table.add("GET", "/gateway", get_gateway, auth=False)
    table.add("GET", "/gateway/bot", get_gateway_bot)
    table.add("GET", "/guilds/{guild_id}", get_guild)
    table.add("GET", "/guilds/{guild_id}/channels", get_guild_channels)
    table.add("GET", "/guilds/{guild_id}/roles", get_guild_roles)
    table.add("GET", "/guilds/{guild_id}/members/{user_id}", get_member)
    table.add("DELETE", "/users/@me/guilds/{guild_id}", leave_guild)
    table.add("POST", "/users/@me/channels", create_dm)


def _guild_payload(guild: Guild) -> dict[str, Any]:
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "features": [],
        "system_channel_id": None if guild.system_channel_id is None else str(guild.system_channel_id),
        "system_channel_flags": 0,
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
    }
