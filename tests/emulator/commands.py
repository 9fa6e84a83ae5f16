"""Application command storage: bulk overwrite like Discord, keeping ids of unchanged names."""

from __future__ import annotations

import re
from typing import Any

from tests.emulator.api_error import FormErrors
from tests.emulator.state import EmulatorState

_NAME = re.compile(r"^[-_'\w]{1,32}$")
CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
COMMANDS_MAX = 100
OPTIONS_MAX = 25
CHOICES_MAX = 25


def bulk_overwrite(state: EmulatorState, guild_id: int | None, payload: Any) -> list[dict[str, Any]]:
    errors = FormErrors()
    if not isinstance(payload, list):
        errors.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errors.raise_if_any()
    if len(payload) > COMMANDS_MAX:
        errors.too_long((), COMMANDS_MAX)
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(payload):
        _validate_command(command, (i,), errors)
        key = (int(command.get("type", CHAT_INPUT)), str(command.get("name")))
        if key in seen:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique ({key[1]})",
            )
        seen.add(key)
    errors.raise_if_any()

    previous = {(int(c["type"]), c["name"]): c for c in state.commands.get(guild_id, [])}
    stored = []
    for command in payload:
        kind = int(command.get("type", CHAT_INPUT))
        old = previous.get((kind, command["name"]))
        stored.append(_normalize(state, command, kind, guild_id, old))
    state.commands[guild_id] = stored
    return stored


def upsert_one(state: EmulatorState, guild_id: int | None, payload: Any) -> dict[str, Any]:
    current = [c for c in state.commands.get(guild_id, []) if c["name"] != payload.get("name")]
    submitted = [_as_submitted(c) for c in current] + [payload]
    stored = bulk_overwrite(state, guild_id, submitted)
    return next(c for c in stored if c["name"] == payload.get("name"))


def _as_submitted(command: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "name",
        "type",
        "description",
        "options",
        "default_member_permissions",
        "nsfw",
        "contexts",
        "integration_types",
        "name_localizations",
        "description_localizations",
    )
    return {k: command[k] for k in keep if k in command}


def _normalize(
    state: EmulatorState,
    command: dict[str, Any],
    kind: int,
    guild_id: int | None,
    old: dict[str, Any] | None,
) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "id": old["id"] if old else str(state.ids.next()),
        "application_id": str(state.application_id),
        "version": str(state.ids.next()),
        "default_member_permissions": command.get("default_member_permissions"),
        "type": kind,
        "name": command["name"],
        "name_localizations": command.get("name_localizations"),
        "description": command.get("description", "") if kind == CHAT_INPUT else "",
        "description_localizations": command.get("description_localizations"),
        "dm_permission": command.get("dm_permission", True),
        "contexts": command.get("contexts"),
        "integration_types": command.get("integration_types", [0]),
        "nsfw": bool(command.get("nsfw", False)),
    }
    if command.get("options"):
        stored["options"] = command["options"]
    if guild_id is not None:
        stored["guild_id"] = str(guild_id)
    return stored


def _validate_command(command: Any, path: tuple[str | int, ...], errors: FormErrors) -> None:
    if not isinstance(command, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    kind = int(command.get("type", CHAT_INPUT))
    name = str(command.get("name") or "")
    if kind == CHAT_INPUT:
        if not _NAME.match(name) or name != name.lower():
            errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        _check_description(command, path, errors)
        _validate_options(command.get("options") or [], (*path, "options"), errors)
    elif not 1 <= len(name) <= 32:
        errors.add((*path, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")


def _check_description(obj: dict[str, Any], path: tuple[str | int, ...], errors: FormErrors) -> None:
    description = str(obj.get("description") or "")
    if not 1 <= len(description) <= 100:
        errors.add((*path, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _validate_options(options: list[dict[str, Any]], path: tuple[str | int, ...], errors: FormErrors) -> None:
    if len(options) > OPTIONS_MAX:
        errors.too_long(path, OPTIONS_MAX)
    names: set[str] = set()
    optional_seen = False
    for i, option in enumerate(options):
        opath = (*path, i)
        name = str(option.get("name") or "")
        if not _NAME.match(name) or name != name.lower():
            errors.add((*opath, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid")
        if name in names:
            errors.add(
                (*opath, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(name)
        _check_description(option, opath, errors)
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(option.get("options") or [], (*opath, "options"), errors)
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*opath, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            errors.too_long((*opath, "choices"), CHOICES_MAX)
        if choices and option.get("autocomplete"):
            errors.add(
                (*opath, "autocomplete"),
                "AUTOCOMPLETE_AND_CHOICES_EXCLUSIVE",
                "Autocomplete cannot be set if choices are present",
            )


def find_command(state: EmulatorState, name: str, guild_id: int | None) -> dict[str, Any] | None:
    """Guild commands shadow global ones, as in the Discord client."""
    scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
    for scope in scopes:
        for command in state.commands.get(scope, []):
            if command["name"] == name and command["type"] == CHAT_INPUT:
                return command
    return None
