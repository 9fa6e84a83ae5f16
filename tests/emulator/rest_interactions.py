"""REST: interaction callbacks and the interaction webhook (@original, followups).

These routes authenticate by the interaction token in the URL, not the bot token,
and are exempt from the global rate limit, as on Discord.
"""

from __future__ import annotations

from typing import Any

from tests.emulator import api_error as err
from tests.emulator.api_error import ApiError, FormErrors
from tests.emulator.core import EmulatorCore
from tests.emulator.interaction import (
    ALLOWED_CALLBACKS,
    CALLBACK_AUTOCOMPLETE,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE_MESSAGE,
    TYPE_APPLICATION_COMMAND,
    TYPE_MODAL_SUBMIT,
    Interaction,
)
from tests.emulator.messages import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    TYPE_CHAT_INPUT_COMMAND,
    TYPE_DEFAULT,
    UploadedFile,
    apply_edit,
    build_message,
)
from tests.emulator.models import StoredMessage
from tests.emulator.payloads import user_payload
from tests.emulator.routing import ApiRequest, ApiResponse, RouteTable
from tests.emulator.validation import validate_choices, validate_message, validate_modal


def register(table: RouteTable, core: EmulatorCore) -> None:
    state = core.state

    def interaction_for_callback(req: ApiRequest) -> Interaction:
        interaction = core.interactions.get(req.snowflake("interaction_id"))
        if interaction is None or interaction.token != req.params["interaction_token"]:
            raise ApiError(404, err.UNKNOWN_INTERACTION, "Unknown interaction")
        return interaction

    def interaction_for_webhook(req: ApiRequest) -> Interaction:
        interaction = core.interactions_by_token.get(req.params["webhook_token"])
        if interaction is None or req.snowflake("webhook_id") != state.application_id:
            raise ApiError(404, err.UNKNOWN_WEBHOOK, "Unknown Webhook")
        if core.clock.now() - interaction.dispatched_at > core.config.interaction_token_ttl:
            raise ApiError(401, err.INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        return interaction

    def webhook_message(interaction: Interaction, raw_id: str) -> StoredMessage:
        if raw_id == "@original":
            if interaction.original_id is None or interaction.original_deleted:
                raise err.unknown("Message", err.UNKNOWN_MESSAGE)
            return state.messages[interaction.original_id]
        message_id = int(raw_id) if raw_id.isdigit() else -1
        owned = message_id == interaction.original_id or message_id in interaction.followup_ids
        stored = state.messages.get(message_id)
        if not owned or stored is None or stored.deleted:
            raise err.unknown("Message", err.UNKNOWN_MESSAGE)
        return stored

    async def callback(req: ApiRequest) -> ApiResponse:
        interaction = interaction_for_callback(req)
        body = req.body()
        if interaction.acknowledged:
            interaction.rejected_callbacks.append(body)
            raise ApiError(400, err.ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        deadline = core.config.interaction_deadline
        if deadline is not None and core.clock.now() - interaction.dispatched_at > deadline:
            interaction.rejected_callbacks.append(body)
            raise ApiError(404, err.UNKNOWN_INTERACTION, "Unknown interaction")
        kind = body.get("type")
        if not isinstance(kind, int) or kind not in ALLOWED_CALLBACKS.get(interaction.type, ()):
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {kind} is not valid for interaction type {interaction.type}",
            )
            raise ApiError(400, err.INVALID_FORM_BODY, "Invalid Form Body", errors.tree)
        data: dict[str, Any] = body.get("data") or {}
        message = await _perform_callback(core, interaction, kind, data, req.files)
        interaction.response = body
        if not req.flag("with_response"):
            return ApiResponse(status=204)
        return ApiResponse(body=_callback_result(interaction, kind, message))

    async def get_webhook_message(req: ApiRequest) -> ApiResponse:
        interaction = interaction_for_webhook(req)
        return ApiResponse(body=webhook_message(interaction, req.params["message_id"]).data)

    async def edit_webhook_message(req: ApiRequest) -> ApiResponse:
        interaction = interaction_for_webhook(req)
        stored = webhook_message(interaction, req.params["message_id"])
        payload = req.body()
        validate_message(payload, creating=False)
        apply_edit(state, state.channels[stored.channel_id], stored, payload, req.files)
        if stored.id == interaction.original_id:
            interaction.original_edits.append(payload)
        await core.dispatch_message("MESSAGE_UPDATE", stored)
        return ApiResponse(body=stored.data)

    async def delete_webhook_message(req: ApiRequest) -> ApiResponse:
        interaction = interaction_for_webhook(req)
        stored = webhook_message(interaction, req.params["message_id"])
        stored.deleted = True
        if stored.id == interaction.original_id:
            interaction.original_deleted = True
        await core.dispatch_message_delete(stored)
        return ApiResponse(status=204)

    async def followup(req: ApiRequest) -> ApiResponse:
        interaction = interaction_for_webhook(req)
        if not interaction.acknowledged or interaction.response_type == CALLBACK_AUTOCOMPLETE:
            raise ApiError(404, err.UNKNOWN_WEBHOOK, "Unknown Webhook")
        payload = req.body()
        validate_message(payload, file_count=len(req.files))
        stored = await _create_followup(core, interaction, payload, req.files)
        interaction.followup_ids.append(stored.id)
        if not req.flag("wait"):
            return ApiResponse(status=204)
        return ApiResponse(body=stored.data)

    no_auth: dict[str, Any] = {"auth": False, "global_limited": False}
    table.add("POST", "/interactions/{interaction_id}/{interaction_token}/callback", callback, **no_auth)
    message_path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    table.add("GET", message_path, get_webhook_message, **no_auth)
    table.add("PATCH", message_path, edit_webhook_message, **no_auth)
    table.add("DELETE", message_path, delete_webhook_message, **no_auth)
    table.add("POST", "/webhooks/{webhook_id}/{webhook_token}", followup, **no_auth)


async def _perform_callback(
    core: EmulatorCore,
    interaction: Interaction,
    kind: int,
    data: dict[str, Any],
    files: list[UploadedFile],
) -> StoredMessage | None:
    state = core.state
    if kind == CALLBACK_CHANNEL_MESSAGE:
        validate_message(data, file_count=len(files))
        stored = _interaction_message(core, interaction, data, files, extra_flags=0)
    elif kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
        flags = int(data.get("flags") or 0) & FLAG_EPHEMERAL
        stored = _interaction_message(core, interaction, {"flags": flags}, [], extra_flags=FLAG_LOADING)
    elif kind in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE_MESSAGE):
        source = state.messages.get(interaction.source_message_id or -1)
        if source is None:
            raise ApiError(400, 40004, "This interaction has no message to update")
        if kind == CALLBACK_UPDATE_MESSAGE:
            validate_message(data, creating=False)
            apply_edit(state, state.channels[source.channel_id], source, data, files)
            await core.dispatch_message("MESSAGE_UPDATE", source)
        interaction.original_id = source.id
        return source
    elif kind == CALLBACK_AUTOCOMPLETE:
        validate_choices(data)
        return None
    elif kind == CALLBACK_MODAL:
        validate_modal(data)
        return None
    else:
        return None
    interaction.original_id = stored.id
    await core.dispatch_message("MESSAGE_CREATE", stored)
    return stored


def _interaction_message(
    core: EmulatorCore,
    interaction: Interaction,
    data: dict[str, Any],
    files: list[UploadedFile],
    *,
    extra_flags: int,
) -> StoredMessage:
    state = core.state
    channel = state.channels[interaction.channel_id]
    is_command = interaction.type in (TYPE_APPLICATION_COMMAND, TYPE_MODAL_SUBMIT)
    message_type = TYPE_CHAT_INPUT_COMMAND if is_command else TYPE_DEFAULT
    extra = _interaction_extra(core, interaction)
    built = build_message(state, channel, data, files, message_type=message_type, extra_flags=extra_flags, extra=extra)
    stored = StoredMessage(
        built,
        channel.id,
        ephemeral=bool(built["flags"] & FLAG_EPHEMERAL),
        interaction_id=interaction.id,
        allowed_mentions=data.get("allowed_mentions"),
    )
    state.store_message(stored)
    return stored


async def _create_followup(
    core: EmulatorCore, interaction: Interaction, payload: dict[str, Any], files: list[UploadedFile]
) -> StoredMessage:
    state = core.state
    original = interaction.original
    if original is not None and int(original["flags"]) & FLAG_LOADING:
        # The first followup after a deferred response replaces the "thinking" message.
        stored = state.messages[int(original["id"])]
        apply_edit(state, state.channels[stored.channel_id], stored, payload, files)
        await core.dispatch_message("MESSAGE_UPDATE", stored)
        return stored
    stored = _interaction_message(core, interaction, payload, files, extra_flags=0)
    await core.dispatch_message("MESSAGE_CREATE", stored)
    return stored


def _interaction_extra(core: EmulatorCore, interaction: Interaction) -> dict[str, Any]:
    state = core.state
    user = user_payload(state.users[interaction.user_id])
    metadata: dict[str, Any] = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": user,
        "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
    }
    name = (interaction.payload.get("data") or {}).get("name")
    if name:
        metadata["name"] = name
    return {
        "webhook_id": str(state.application_id),
        "application_id": str(state.application_id),
        "interaction_metadata": metadata,
    }


def _callback_result(interaction: Interaction, kind: int, message: StoredMessage | None) -> dict[str, Any]:
    info: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
    result: dict[str, Any] = {"interaction": info}
    if message is not None:
        info["response_message_id"] = str(message.id)
        info["response_message_loading"] = kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE
        info["response_message_ephemeral"] = message.ephemeral
        result["resource"] = {"type": kind, "message": message.data}
    elif kind == CALLBACK_MODAL:
        result["resource"] = {"type": kind}
    return result
