"""REST: channel messages (send/fetch/edit/delete), channels and threads."""

from __future__ import annotations

from typing import Any

from tests.emulator import api_error as err
from tests.emulator.api_error import ApiError, FormErrors
from tests.emulator.core import EmulatorCore
from tests.emulator.messages import FLAG_HAS_THREAD, TYPE_REPLY, apply_edit, build_message
from tests.emulator.models import (
    CHANNEL_DM,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    Channel,
    StoredMessage,
)
from tests.emulator.payloads import channel_payload, thread_payload
from tests.emulator.permissions import Perm
from tests.emulator.routing import ApiRequest, ApiResponse, RouteTable
from tests.emulator.state import EmulatorState, NonceRecord
from tests.emulator.validation import validate_message

WRONG_CHANNEL_TYPE = 50024


def register(table: RouteTable, core: EmulatorCore) -> None:
    state = core.state

    async def create_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        payload = req.body()
        _check_can_send(state, channel, with_files=bool(req.files))
        validate_message(payload, file_count=len(req.files))
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            earlier = _recent_nonce(core, channel.id, str(nonce))
            if earlier is not None:
                core.stats.nonce_deduplicated += 1
                return ApiResponse(body=earlier.data)
        extra, message_type = _reference(state, channel, payload)
        await _reopen_if_archived(core, channel)
        data = build_message(state, channel, payload, req.files, message_type=message_type, extra=extra)
        stored = StoredMessage(data, channel.id, allowed_mentions=payload.get("allowed_mentions"))
        state.store_message(stored)
        if nonce is not None and payload.get("enforce_nonce"):
            state.nonces[(channel.id, str(nonce))] = NonceRecord(stored.id, core.clock.now())
        await core.dispatch_message("MESSAGE_CREATE", stored)
        return ApiResponse(body=data)

    async def list_messages(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        perms = _require_view(state, channel)
        if channel.guild_id is not None and not perms & Perm.READ_MESSAGE_HISTORY:
            return ApiResponse(body=[])
        limit = min(max(int(req.query.get("limit", "50")), 1), 100)
        live = sorted(state.live_messages(channel.id), key=lambda m: m.id, reverse=True)
        if "before" in req.query:
            live = [m for m in live if m.id < int(req.query["before"])]
        if "after" in req.query:
            live = [m for m in live if m.id > int(req.query["after"])][-limit:]
        return ApiResponse(body=[m.data for m in live[:limit]])

    async def get_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        perms = _require_view(state, channel)
        if channel.guild_id is not None and not perms & Perm.READ_MESSAGE_HISTORY:
            raise err.missing_access()
        return ApiResponse(body=state.api_message(channel.id, req.snowflake("message_id")).data)

    async def edit_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        _require_view(state, channel)
        stored = state.api_message(channel.id, req.snowflake("message_id"))
        if int(stored.data["author"]["id"]) != state.bot_user_id:
            raise ApiError(403, err.CANNOT_EDIT_OTHERS, "Cannot edit a message authored by another user")
        payload = req.body()
        validate_message(payload, creating=False)
        apply_edit(state, channel, stored, payload, req.files)
        await core.dispatch_message("MESSAGE_UPDATE", stored)
        return ApiResponse(body=stored.data)

    async def delete_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        perms = _require_view(state, channel)
        stored = state.api_message(channel.id, req.snowflake("message_id"))
        own = int(stored.data["author"]["id"]) == state.bot_user_id
        if not own and not perms & Perm.MANAGE_MESSAGES:
            raise err.missing_permissions()
        stored.deleted = True
        await core.dispatch_message_delete(stored)
        return ApiResponse(status=204)

    async def get_channel(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        _require_view(state, channel)
        return ApiResponse(body=channel_payload(state, channel))

    async def edit_channel(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        perms = _require_view(state, channel)
        body = req.body()
        if channel.is_thread:
            _edit_thread(state, channel, perms, body)
            event = "THREAD_UPDATE"
        elif channel.type == CHANNEL_DM:
            return ApiResponse(body=channel_payload(state, channel))
        else:
            if not perms & Perm.MANAGE_CHANNELS:
                raise err.missing_permissions()
            channel.name = str(body.get("name", channel.name))
            channel.topic = body.get("topic", channel.topic)
            event = "CHANNEL_UPDATE"
        payload = channel_payload(state, channel)
        await core.dispatch(event, payload, guild_id=channel.guild_id)
        return ApiResponse(body=payload)

    async def thread_from_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        if channel.type != CHANNEL_TEXT:
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        perms = _require_view(state, channel)
        stored = state.api_message(channel.id, req.snowflake("message_id"))
        if not perms & Perm.CREATE_PUBLIC_THREADS:
            raise err.missing_permissions()
        if stored.id in state.channels:
            raise ApiError(
                400,
                err.THREAD_ALREADY_CREATED,
                "A thread has already been created for this message",
            )
        thread = _new_thread(state, channel, req.body(), CHANNEL_PUBLIC_THREAD, stored.id)
        stored.data["thread"] = thread_payload(thread)
        stored.data["flags"] = int(stored.data["flags"]) | FLAG_HAS_THREAD
        await _announce_thread(core, thread)
        await core.dispatch_message("MESSAGE_UPDATE", stored)
        return ApiResponse(status=201, body=_with_member(state, thread))

    async def thread_without_message(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        if channel.type != CHANNEL_TEXT:
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        perms = _require_view(state, channel)
        kind = int(req.body().get("type") or CHANNEL_PRIVATE_THREAD)
        needed = Perm.CREATE_PRIVATE_THREADS if kind == CHANNEL_PRIVATE_THREAD else Perm.CREATE_PUBLIC_THREADS
        if kind not in (CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD) or not perms & needed:
            raise err.missing_permissions()
        thread = _new_thread(state, channel, req.body(), kind, state.ids.next())
        await _announce_thread(core, thread)
        return ApiResponse(status=201, body=_with_member(state, thread))

    async def typing(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        _require_view(state, channel)
        return ApiResponse(status=204)

    async def join_thread(req: ApiRequest) -> ApiResponse:
        channel = state.api_channel(req.snowflake("channel_id"))
        _require_view(state, channel)
        return ApiResponse(status=204)

    per_channel = core.config.message_rate
    table.add("POST", "/channels/{channel_id}/messages", create_message, rate=per_channel)
    table.add("GET", "/channels/{channel_id}/messages", list_messages)
    table.add("GET", "/channels/{channel_id}/messages/{message_id}", get_message)
    table.add("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message)
    table.add("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message)
    table.add("POST", "/channels/{channel_id}/messages/{message_id}/threads", thread_from_message)
    table.add("POST", "/channels/{channel_id}/threads", thread_without_message)
    table.add("GET", "/channels/{channel_id}", get_channel)
    table.add("PATCH", "/channels/{channel_id}", edit_channel)
    table.add("POST", "/channels/{channel_id}/typing", typing)
    table.add("PUT", "/channels/{channel_id}/thread-members/@me", join_thread)


def _require_view(state: EmulatorState, channel: Channel) -> int:
    if channel.guild_id is None:
        return 0
    perms = state.bot_channel_permissions(channel.id)
    if not perms & Perm.VIEW_CHANNEL:
        raise err.missing_access()
    return perms


def _check_can_send(state: EmulatorState, channel: Channel, *, with_files: bool) -> None:
    if channel.type == CHANNEL_DM:
        assert channel.recipient_id is not None
        if not state.users[channel.recipient_id].dms_open:
            raise ApiError(403, err.CANNOT_DM_USER, "Cannot send messages to this user")
        return
    perms = _require_view(state, channel)
    needed = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
    if not perms & needed or (with_files and not perms & Perm.ATTACH_FILES):
        raise err.missing_permissions()
    if channel.is_thread and channel.locked and not perms & Perm.MANAGE_THREADS:
        raise ApiError(400, err.THREAD_ARCHIVED, "Thread is locked")


async def _reopen_if_archived(core: EmulatorCore, channel: Channel) -> None:
    """Sending into an archived (unlocked) thread unarchives it."""
    if channel.is_thread and channel.archived:
        channel.archived = False
        channel.archive_timestamp = core.state.clock.iso_now()
        await core.dispatch("THREAD_UPDATE", thread_payload(channel), guild_id=channel.guild_id)


def _recent_nonce(core: EmulatorCore, channel_id: int, nonce: str) -> StoredMessage | None:
    record = core.state.nonces.get((channel_id, nonce))
    if record is None or core.clock.now() - record.created_at > core.config.nonce_window:
        return None
    stored = core.state.messages.get(record.message_id)
    return None if stored is None or stored.deleted else stored


def _reference(state: EmulatorState, channel: Channel, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
    reference = payload.get("message_reference")
    if not reference:
        return {}, 0
    raw = reference.get("message_id")
    target = state.messages.get(int(raw)) if str(raw).isdigit() else None
    if target is None or target.deleted or target.channel_id != channel.id:
        if reference.get("fail_if_not_exists", True):
            errors = FormErrors()
            errors.add(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
            errors.raise_if_any()
        return {}, 0
    ref = {"type": 0, "message_id": str(target.id), "channel_id": str(channel.id)}
    if channel.guild_id is not None:
        ref["guild_id"] = str(channel.guild_id)
    return {"message_reference": ref, "referenced_message": dict(target.data)}, TYPE_REPLY


def _edit_thread(state: EmulatorState, thread: Channel, perms: int, body: dict[str, Any]) -> None:
    manage = bool(perms & Perm.MANAGE_THREADS)
    if not manage and (thread.owner_id != state.bot_user_id or "locked" in body or thread.locked):
        raise err.missing_permissions()
    if "name" in body:
        thread.name = str(body["name"])
    if "locked" in body:
        thread.locked = bool(body["locked"])
    if "archived" in body and bool(body["archived"]) != thread.archived:
        thread.archived = bool(body["archived"])
        thread.archive_timestamp = state.clock.iso_now()
    if "auto_archive_duration" in body:
        thread.auto_archive_duration = int(body["auto_archive_duration"])


def _new_thread(state: EmulatorState, parent: Channel, body: dict[str, Any], kind: int, thread_id: int) -> Channel:
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        errors = FormErrors()
        errors.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        errors.raise_if_any()
    now = state.clock.iso_now()
    thread = Channel(
        id=thread_id,
        type=kind,
        name=name,
        guild_id=parent.guild_id,
        parent_id=parent.id,
        owner_id=state.bot_user_id,
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        archive_timestamp=now,
        create_timestamp=now,
        invitable=bool(body.get("invitable", True)),
    )
    state.channels[thread.id] = thread
    state.channel_messages[thread.id] = []
    if parent.guild_id is not None:
        state.guilds[parent.guild_id].channel_ids.append(thread.id)
    return thread


def _with_member(state: EmulatorState, thread: Channel) -> dict[str, Any]:
    payload = thread_payload(thread)
    payload["member"] = {
        "id": str(thread.id),
        "user_id": str(state.bot_user_id),
        "join_timestamp": thread.create_timestamp,
        "flags": 0,
    }
    return payload


async def _announce_thread(core: EmulatorCore, thread: Channel) -> None:
    payload = _with_member(core.state, thread)
    payload["newly_created"] = True
    await core.dispatch("THREAD_CREATE", payload, guild_id=thread.guild_id)
