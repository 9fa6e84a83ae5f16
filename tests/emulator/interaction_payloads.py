"""Build INTERACTION_CREATE payloads from what the bot synced (option types, resolved data)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.emulator.api_error import EmulatorUsageError
from tests.emulator.commands import SUB_COMMAND, SUB_COMMAND_GROUP, find_command
from tests.emulator.interaction import find_component
from tests.emulator.models import StoredFile
from tests.emulator.payloads import (
    ATTACHMENT_SIZE_LIMIT,
    interaction_channel_payload,
    member_payload,
    role_payload,
    user_payload,
)
from tests.emulator.state import EmulatorState

OPT_STRING, OPT_INTEGER, OPT_BOOLEAN, OPT_USER, OPT_CHANNEL = 3, 4, 5, 6, 7
OPT_ROLE, OPT_MENTIONABLE, OPT_NUMBER, OPT_ATTACHMENT = 8, 9, 10, 11

AttachmentValue = StoredFile | tuple[str, bytes] | tuple[str, bytes, str]


def base_payload(
    state: EmulatorState, kind: int, guild_id: int | None, channel_id: int, user_id: int
) -> dict[str, Any]:
    channel = state.channels.get(channel_id)
    if channel is None:
        raise EmulatorUsageError(f"no channel {channel_id}")
    payload: dict[str, Any] = {
        "id": str(state.ids.next()),
        "application_id": str(state.application_id),
        "type": kind,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "channel_id": str(channel_id),
        "channel": interaction_channel_payload(state, channel, user_id),
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if guild_id is None:
        payload["user"] = user_payload(state.api_user(user_id))
        payload["context"] = 1
        payload["authorizing_integration_owners"] = {"0": str(user_id)}
        return payload
    guild = state.guild(guild_id)
    member = guild.members.get(user_id)
    if member is None:
        raise EmulatorUsageError(f"user {user_id} is not a member of guild {guild_id}")
    member_data = member_payload(state, member)
    member_data["permissions"] = str(state.channel_permissions(channel_id, user_id))
    payload.update(
        guild_id=str(guild_id),
        guild={"id": str(guild_id), "locale": "en-US", "features": []},
        guild_locale="en-US",
        member=member_data,
        app_permissions=str(state.bot_channel_permissions(channel_id)),
        context=0,
        authorizing_integration_owners={"0": str(guild_id)},
    )
    return payload


def command_data(
    state: EmulatorState,
    *,
    guild_id: int | None,
    user_id: int,
    name: str,
    options: dict[str, Any] | None,
    subcommand: str | None,
    group: str | None,
    focused: str | None = None,
) -> dict[str, Any]:
    command = find_command(state, name, guild_id)
    if command is None:
        synced = sorted({c["name"] for scope in state.commands.values() for c in scope})
        raise EmulatorUsageError(f"command /{name} was not synced (globally or to guild {guild_id}); synced: {synced}")
    defs: list[dict[str, Any]] = command.get("options") or []
    path = f"/{name}"
    if group is not None:
        defs = _sub(defs, group, SUB_COMMAND_GROUP, path)
        path += f" {group}"
    if subcommand is not None:
        defs = _sub(defs, subcommand, SUB_COMMAND, path)
        path += f" {subcommand}"
    elif any(d.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for d in defs):
        raise EmulatorUsageError(f"{path} has subcommands; pass subcommand=")

    resolved: dict[str, dict[str, Any]] = {}
    given = dict(options or {})
    if focused is not None:
        given.setdefault(focused, "")
    built = []
    for opt_name, value in given.items():
        definition = next((d for d in defs if d.get("name") == opt_name), None)
        if definition is None:
            known = [d.get("name") for d in defs]
            raise EmulatorUsageError(f"{path} has no option {opt_name!r}; it has {known}")
        if opt_name == focused:
            built.append({"name": opt_name, "type": definition["type"], "value": str(value), "focused": True})
            continue
        built.append(_option(state, definition, value, guild_id, user_id, resolved, path))
    if focused is None:
        missing = [d["name"] for d in defs if d.get("required") and d["name"] not in given]
        if missing:
            raise EmulatorUsageError(f"{path} is missing required option(s) {missing}")

    top: list[dict[str, Any]] = built
    if subcommand is not None:
        top = [{"type": SUB_COMMAND, "name": subcommand, "options": built}]
    if group is not None:
        top = [{"type": SUB_COMMAND_GROUP, "name": group, "options": top}]
    data: dict[str, Any] = {
        "id": command["id"],
        "name": name,
        "type": 1,
        "options": top,
    }
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def _sub(defs: list[dict[str, Any]], name: str, kind: int, path: str) -> list[dict[str, Any]]:
    for definition in defs:
        if definition.get("name") == name and definition.get("type") == kind:
            return list(definition.get("options") or [])
    what = "subcommand group" if kind == SUB_COMMAND_GROUP else "subcommand"
    raise EmulatorUsageError(f"{path} has no {what} {name!r}")


def _option(
    state: EmulatorState,
    definition: dict[str, Any],
    value: Any,
    guild_id: int | None,
    user_id: int,
    resolved: dict[str, dict[str, Any]],
    path: str,
) -> dict[str, Any]:
    kind = int(definition["type"])
    name = definition["name"]
    if kind in (OPT_STRING, OPT_INTEGER, OPT_NUMBER, OPT_BOOLEAN):
        converted: Any = {OPT_STRING: str, OPT_INTEGER: int, OPT_NUMBER: float, OPT_BOOLEAN: bool}[kind](value)
        choices = definition.get("choices")
        if choices and converted not in [c["value"] for c in choices]:
            raise EmulatorUsageError(f"{path} option {name!r}: {value!r} is not one of the choices")
        return {"name": name, "type": kind, "value": converted}
    if kind == OPT_ATTACHMENT:
        stored = _attachment(state, value)
        attachment = stored.attachment_payload(state.base_url)
        attachment["ephemeral"] = True
        resolved.setdefault("attachments", {})[str(stored.id)] = attachment
        return {"name": name, "type": kind, "value": str(stored.id)}
    snowflake = int(getattr(value, "id", value))
    if kind == OPT_CHANNEL:
        channel = state.channels.get(snowflake)
        if channel is None:
            raise EmulatorUsageError(f"{path} option {name!r}: no channel {snowflake}")
        payload = interaction_channel_payload(state, channel, user_id)
        resolved.setdefault("channels", {})[str(snowflake)] = payload
    elif kind == OPT_ROLE or (kind == OPT_MENTIONABLE and snowflake not in state.users):
        _resolve_role(state, guild_id, snowflake, resolved, f"{path} option {name!r}")
    else:  # user, or a mentionable that is a user
        _resolve_user(state, guild_id, snowflake, resolved, f"{path} option {name!r}")
    return {"name": name, "type": kind, "value": str(snowflake)}


def _resolve_user(
    state: EmulatorState, guild_id: int | None, user_id: int, resolved: dict[str, Any], what: str
) -> None:
    user = state.users.get(user_id)
    if user is None:
        raise EmulatorUsageError(f"{what}: no user {user_id}")
    resolved.setdefault("users", {})[str(user_id)] = user_payload(user)
    if guild_id is not None:
        member = state.guild(guild_id).members.get(user_id)
        if member is not None:
            data = member_payload(state, member, with_user=False)
            data["permissions"] = str(state.guild_permissions(guild_id, user_id))
            resolved.setdefault("members", {})[str(user_id)] = data


def _resolve_role(
    state: EmulatorState, guild_id: int | None, role_id: int, resolved: dict[str, Any], what: str
) -> None:
    role = state.guild(guild_id).roles.get(role_id) if guild_id is not None else None
    if role is None:
        raise EmulatorUsageError(f"{what}: no role {role_id} in guild {guild_id}")
    resolved.setdefault("roles", {})[str(role_id)] = role_payload(role)


def _attachment(state: EmulatorState, value: Any) -> StoredFile:
    if isinstance(value, StoredFile):
        return value
    if isinstance(value, tuple) and len(value) in (2, 3):
        content_type = value[2] if len(value) == 3 else None
        return state.add_file(str(value[0]), bytes(value[1]), content_type)
    raise EmulatorUsageError("attachment options take a StoredFile (emu.add_attachment) or (filename, bytes[, type])")


def component_data(message: dict[str, Any], custom_id: str, values: list[str] | None) -> dict[str, Any]:
    component = find_component(message.get("components") or [], custom_id)
    if component is None:
        raise EmulatorUsageError(f"message {message.get('id')} has no component {custom_id!r}")
    if component.get("disabled"):
        raise EmulatorUsageError(f"component {custom_id!r} is disabled; a user cannot click it")
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
    if component["type"] in (3, 5, 6, 7, 8):
        data["values"] = list(values or [])
    return data


def modal_submit_data(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - _input_ids(modal.get("components") or [])
    if unknown:
        raise EmulatorUsageError(f"modal {modal.get('custom_id')!r} has no inputs {sorted(unknown)}")
    return {
        "custom_id": modal["custom_id"],
        "components": [_submitted(c, values) for c in modal.get("components") or []],
    }


def _input_ids(components: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for component in components:
        if component.get("custom_id"):
            found.add(str(component["custom_id"]))
        children = list(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            children.append(component["component"])
        found |= _input_ids(children)
    return found


def _submitted(component: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    kind = component.get("type")
    if kind == 1:
        return {"type": 1, "components": [_submitted(c, values) for c in component["components"]]}
    if kind == 18:
        return {"type": 18, "component": _submitted(component["component"], values)}
    custom_id = component.get("custom_id")
    result: dict[str, Any] = {"type": kind, "custom_id": custom_id}
    value = values.get(str(custom_id), "")
    if kind == 4:
        result["value"] = str(value)
    else:
        result["values"] = list(value) if isinstance(value, list | tuple) else [value]
    return result
