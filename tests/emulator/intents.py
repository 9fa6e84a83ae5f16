"""Gateway intents: which intent each dispatch needs, and which intents are privileged."""

from __future__ import annotations

from typing import Any

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

_BY_EVENT: dict[str, int] = {
    **dict.fromkeys(
        (
            "GUILD_CREATE",
            "GUILD_UPDATE",
            "GUILD_DELETE",
            "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE",
            "GUILD_ROLE_DELETE",
            "CHANNEL_CREATE",
            "CHANNEL_UPDATE",
            "CHANNEL_DELETE",
            "CHANNEL_PINS_UPDATE",
            "THREAD_CREATE",
            "THREAD_UPDATE",
            "THREAD_DELETE",
            "THREAD_LIST_SYNC",
            "THREAD_MEMBER_UPDATE",
        ),
        GUILDS,
    ),
    **dict.fromkeys(
        ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "THREAD_MEMBERS_UPDATE"),
        GUILD_MEMBERS,
    ),
    "PRESENCE_UPDATE": GUILD_PRESENCES,
}

_MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK")
_REACTION_EVENTS = ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE")


def required_intent(event: str, data: dict[str, Any]) -> int:
    """0 means every session receives it (READY, INTERACTION_CREATE, unknown events...)."""
    if event in _MESSAGE_EVENTS:
        return GUILD_MESSAGES if data.get("guild_id") else DIRECT_MESSAGES
    if event in _REACTION_EVENTS:
        return GUILD_MESSAGE_REACTIONS if data.get("guild_id") else 1 << 13
    return _BY_EVENT.get(event, 0)


def strip_content(data: dict[str, Any], bot_user_id: int) -> dict[str, Any]:
    """Without MESSAGE_CONTENT, guild messages arrive empty unless by or mentioning the bot."""
    author = data.get("author") or {}
    if not data.get("guild_id") or str(author.get("id")) == str(bot_user_id):
        return data
    if any(str(m.get("id")) == str(bot_user_id) for m in data.get("mentions") or []):
        return data
    stripped = dict(data)
    stripped.update(content="", embeds=[], attachments=[], components=[])
    return stripped
