"""Serialize emulator records into the JSON shapes Discord sends (snowflakes as strings)."""

from __future__ import annotations

from typing import Any

from tests.emulator.models import CHANNEL_DM, Channel, Guild, Member, Role, User
from tests.emulator.state import EmulatorState

ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024


def user_payload(user: User) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(user.id),
        "username": user.username,
        "global_name": user.global_name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }
    if user.bot:
        payload["bot"] = True
    return payload


def role_payload(role: Role) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        payload["tags"] = {"bot_id": str(role.bot_id)}
    return payload


def member_payload(state: EmulatorState, member: Member, *, with_user: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "roles": [str(r) for r in member.roles],
        "joined_at": member.joined_at,
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        payload["user"] = user_payload(state.users[member.user_id])
    return payload


def overwrites_payload(channel: Channel) -> list[dict[str, Any]]:
    return [
        {"id": str(o.target_id), "type": o.kind, "allow": str(o.allow), "deny": str(o.deny)}
        for o in channel.overwrites.values()
    ]


def channel_payload(state: EmulatorState, channel: Channel) -> dict[str, Any]:
    if channel.type == CHANNEL_DM:
        assert channel.recipient_id is not None
        return {
            "id": str(channel.id),
            "type": CHANNEL_DM,
            "last_message_id": _opt_id(channel.last_message_id),
            "flags": 0,
            "recipients": [user_payload(state.users[channel.recipient_id])],
        }
    if channel.is_thread:
        return thread_payload(channel)
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": overwrites_payload(channel),
        "parent_id": _opt_id(channel.parent_id),
        "topic": channel.topic,
        "nsfw": False,
        "last_message_id": _opt_id(channel.last_message_id),
        "rate_limit_per_user": 0,
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }


def thread_payload(channel: Channel) -> dict[str, Any]:
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "parent_id": str(channel.parent_id),
        "owner_id": str(channel.owner_id),
        "name": channel.name,
        "last_message_id": _opt_id(channel.last_message_id),
        "message_count": channel.message_count,
        "member_count": channel.member_count,
        "total_message_sent": channel.message_count,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": channel.archived,
            "auto_archive_duration": channel.auto_archive_duration,
            "archive_timestamp": channel.archive_timestamp,
            "locked": channel.locked,
            "invitable": channel.invitable,
            "create_timestamp": channel.create_timestamp,
        },
    }


def interaction_channel_payload(state: EmulatorState, channel: Channel, user_id: int) -> dict[str, Any]:
    """Channel as embedded in interactions/resolved data: includes the user's permissions."""
    payload = channel_payload(state, channel)
    if channel.guild_id is not None:
        payload["permissions"] = str(state.channel_permissions(channel.id, user_id))
    return payload


def guild_create_payload(state: EmulatorState, guild: Guild, *, all_members: bool) -> dict[str, Any]:
    """Full GUILD_CREATE. Without the presences intent Discord sends only the bot's member."""
    members = [m for m in guild.members.values() if all_members or m.user_id == state.bot_user_id]
    channels = [state.channels[c] for c in guild.channel_ids]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "application_id": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "features": [],
        "system_channel_id": _opt_id(guild.system_channel_id),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "joined_at": guild.joined_at,
        "large": len(guild.members) >= 250,
        "unavailable": False,
        "lazy": True,
        "member_count": len(guild.members),
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "members": [member_payload(state, m) for m in members],
        "channels": [channel_payload(state, c) for c in channels if not c.is_thread],
        "threads": [channel_payload(state, c) for c in channels if c.is_thread and not c.archived],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
    }


def application_payload(state: EmulatorState, *, flags: int) -> dict[str, Any]:
    bot = state.users[state.bot_user_id]
    return {
        "id": str(state.application_id),
        "name": bot.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": flags,
        "owner": user_payload(state.users[state.application_owner_id]),
        "team": None,
        "bot": user_payload(bot),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "tags": [],
        "approximate_guild_count": len(state.guilds),
        "integration_types_config": {"0": {}},
    }


def _opt_id(value: int | None) -> str | None:
    return None if value is None else str(value)
