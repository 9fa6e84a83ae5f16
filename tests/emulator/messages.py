"""Build and edit message payloads the way Discord stores them (mentions, attachments, flags)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.emulator.models import Channel, StoredMessage
from tests.emulator.payloads import user_payload
from tests.emulator.permissions import Perm
from tests.emulator.state import EmulatorState

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
# Flags a sender may set; the others are set by Discord itself.
SENDABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2

TYPE_DEFAULT = 0
TYPE_REPLY = 19
TYPE_CHAT_INPUT_COMMAND = 20

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def index(self) -> int | None:
        match = re.fullmatch(r"files\[(\d+)\]", self.field) or re.fullmatch(r"file(\d*)", self.field)
        if match is None:
            return None
        return int(match.group(1) or 0)


def build_message(
    state: EmulatorState,
    channel: Channel,
    payload: dict[str, Any],
    files: list[UploadedFile],
    *,
    message_type: int = TYPE_DEFAULT,
    extra_flags: int = 0,
    message_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new message authored by the bot, as Discord would return it."""
    flags = (int(payload.get("flags") or 0) & SENDABLE_FLAGS) | extra_flags
    message: dict[str, Any] = {
        "id": str(message_id if message_id is not None else state.ids.next()),
        "channel_id": str(channel.id),
        "type": message_type,
        "content": payload.get("content") or "",
        "author": user_payload(state.users[state.bot_user_id]),
        "attachments": _attachments(state, payload.get("attachments"), files, existing=[]),
        "embeds": _embeds(payload.get("embeds")),
        "components": list(payload.get("components") or []),
        "pinned": False,
        "tts": bool(payload.get("tts", False)),
        "timestamp": state.clock.iso_now(),
        "edited_timestamp": None,
        "flags": flags,
    }
    if payload.get("nonce") is not None:
        message["nonce"] = str(payload["nonce"])
    if channel.is_thread:
        message["position"] = channel.message_count
    _apply_mentions(state, channel, message, payload.get("allowed_mentions"))
    if extra:
        message.update(extra)
    return message


def apply_edit(
    state: EmulatorState,
    channel: Channel,
    stored: StoredMessage,
    payload: dict[str, Any],
    files: list[UploadedFile],
) -> None:
    message = stored.data
    if "content" in payload:
        message["content"] = payload["content"] or ""
    if "embeds" in payload:
        message["embeds"] = _embeds(payload["embeds"])
    if "components" in payload:
        message["components"] = list(payload["components"] or [])
    if "flags" in payload and payload["flags"] is not None:
        keep = message["flags"] & ~(FLAG_SUPPRESS_EMBEDS | FLAG_LOADING)
        message["flags"] = keep | (int(payload["flags"]) & FLAG_SUPPRESS_EMBEDS)
    else:
        message["flags"] &= ~FLAG_LOADING
    if "attachments" in payload or files:
        message["attachments"] = _attachments(state, payload.get("attachments"), files, existing=message["attachments"])
    if "allowed_mentions" in payload:
        stored.allowed_mentions = payload["allowed_mentions"]
    _apply_mentions(state, channel, message, stored.allowed_mentions)
    message["edited_timestamp"] = state.clock.iso_now()


def _embeds(embeds: Any) -> list[dict[str, Any]]:
    result = []
    for embed in embeds or []:
        normalized = dict(embed)
        normalized.setdefault("type", "rich")
        result.append(normalized)
    return result


def _attachments(
    state: EmulatorState,
    declared: Any,
    files: list[UploadedFile],
    *,
    existing: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    by_index = {f.index: f for f in files if f.index is not None}
    existing_by_id = {a["id"]: a for a in existing}
    if declared is None:
        # No attachments list: keep what is there and append every upload.
        kept = list(existing)
        uploads = list(files)
        return kept + [_store(state, f, None) for f in uploads]
    result = []
    for entry in declared:
        entry_id = str(entry.get("id"))
        if entry_id in existing_by_id:
            result.append(existing_by_id[entry_id])
            continue
        upload = by_index.get(int(entry_id)) if entry_id.isdigit() else None
        if upload is not None:
            result.append(_store(state, upload, entry))
    return result


def _store(state: EmulatorState, upload: UploadedFile, entry: dict[str, Any] | None) -> dict[str, Any]:
    filename = str((entry or {}).get("filename") or upload.filename)
    stored = state.add_file(filename, upload.data, upload.content_type)
    payload = stored.attachment_payload(state.base_url)
    if entry and entry.get("description"):
        payload["description"] = entry["description"]
    return payload


def _apply_mentions(
    state: EmulatorState, channel: Channel, message: dict[str, Any], allowed: dict[str, Any] | None
) -> None:
    """Fill mentions/mention_roles/mention_everyone as Discord does, honouring allowed_mentions."""
    content = str(message.get("content") or "")
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    guild = state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
    bot_perms = state.bot_channel_permissions(channel.id) if guild is not None else 0

    mentions = []
    for raw in dict.fromkeys(_USER_MENTION.findall(content)):
        uid = int(raw)
        if uid in state.users and ("users" in parse or uid in allowed_users):
            mentions.append(user_payload(state.users[uid]))
    mention_roles = []
    if guild is not None:
        for raw in dict.fromkeys(_ROLE_MENTION.findall(content)):
            role = guild.roles.get(int(raw))
            if role is None or not ("roles" in parse or role.id in allowed_roles):
                continue
            if role.mentionable or bot_perms & Perm.MENTION_EVERYONE:
                mention_roles.append(str(role.id))
    everyone = (
        ("@everyone" in content or "@here" in content)
        and "everyone" in parse
        and bool(bot_perms & Perm.MENTION_EVERYONE)
    )
    message["mentions"] = mentions
    message["mention_roles"] = mention_roles
    message["mention_everyone"] = everyone
