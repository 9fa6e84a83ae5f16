"""Discord's documented limits on message, component, autocomplete and modal payloads."""

from __future__ import annotations

from typing import Any

from tests.emulator import api_error as err
from tests.emulator.api_error import ApiError, FormErrors

CONTENT_MAX = 2000
NONCE_MAX = 25
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
ROW_ITEMS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_PLACEHOLDER_MAX = 150
CHOICES_MAX = 25
FLAG_COMPONENTS_V2 = 1 << 15


def validate_message(payload: dict[str, Any], *, file_count: int = 0, creating: bool = True) -> None:
    """Raise ApiError 50035 (or 50006 for an empty message) like Discord would."""
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(("content",), "STRING_TYPE_CONVERT", "Could not interpret value as string.")
    elif content is not None and len(content) > CONTENT_MAX:
        errors.too_long(("content",), CONTENT_MAX)
    nonce = payload.get("nonce")
    if nonce is not None and len(str(nonce)) > NONCE_MAX:
        errors.too_long(("nonce",), NONCE_MAX)
    embeds = payload.get("embeds") or []
    _validate_embeds(embeds, errors)
    components = payload.get("components") or []
    v2 = bool(int(payload.get("flags") or 0) & FLAG_COMPONENTS_V2)
    _validate_components(components, errors, v2=v2)
    _validate_allowed_mentions(payload.get("allowed_mentions"), errors)
    errors.raise_if_any()
    if creating:
        has_body = bool(content) or bool(embeds) or bool(components) or file_count > 0
        has_body = has_body or bool(payload.get("sticker_ids")) or bool(payload.get("poll"))
        if not has_body:
            raise ApiError(400, err.EMPTY_MESSAGE, "Cannot send an empty message")


def _validate_embeds(embeds: list[Any], errors: FormErrors) -> None:
    if len(embeds) > EMBEDS_MAX:
        errors.too_long(("embeds",), EMBEDS_MAX)
        return
    total = 0
    for i, embed in enumerate(embeds):
        path: tuple[str | int, ...] = ("embeds", i)
        total += _check_text(embed, "title", EMBED_TITLE_MAX, path, errors)
        total += _check_text(embed, "description", EMBED_DESCRIPTION_MAX, path, errors)
        footer = embed.get("footer") or {}
        total += _check_text(footer, "text", EMBED_FOOTER_MAX, (*path, "footer"), errors)
        author = embed.get("author") or {}
        total += _check_text(author, "name", EMBED_AUTHOR_MAX, (*path, "author"), errors)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.too_long((*path, "fields"), EMBED_FIELDS_MAX)
        for j, field in enumerate(fields):
            fpath = (*path, "fields", j)
            for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
                if not str(field.get(key) or ""):
                    errors.add((*fpath, key), "BASE_TYPE_REQUIRED", "This field is required")
                total += _check_text(field, key, limit, fpath, errors)
    if total > EMBED_TOTAL_MAX:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )


def _check_text(obj: dict[str, Any], key: str, limit: int, path: tuple[str | int, ...], errors: FormErrors) -> int:
    value = obj.get(key)
    if value is None:
        return 0
    text = str(value)
    if len(text) > limit:
        errors.too_long((*path, key), limit)
    return len(text)


def _validate_components(components: list[Any], errors: FormErrors, *, v2: bool) -> None:
    if not v2 and len(components) > ACTION_ROWS_MAX:
        errors.too_long(("components",), ACTION_ROWS_MAX)
    seen: set[str] = set()
    for i, component in enumerate(components):
        _validate_component(component, ("components", i), errors, seen)


def _validate_component(
    component: dict[str, Any], path: tuple[str | int, ...], errors: FormErrors, seen: set[str]
) -> None:
    kind = component.get("type")
    children = component.get("components")
    if kind == 1 and isinstance(children, list) and len(children) > ROW_ITEMS_MAX:
        errors.too_long((*path, "components"), ROW_ITEMS_MAX)
    custom_id = component.get("custom_id")
    if custom_id is not None:
        if len(str(custom_id)) > CUSTOM_ID_MAX:
            errors.too_long((*path, "custom_id"), CUSTOM_ID_MAX)
        if custom_id in seen:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(str(custom_id))
    label = component.get("label")
    if kind == 2 and label is not None and len(str(label)) > BUTTON_LABEL_MAX:
        errors.too_long((*path, "label"), BUTTON_LABEL_MAX)
    placeholder = component.get("placeholder")
    if placeholder is not None and len(str(placeholder)) > SELECT_PLACEHOLDER_MAX:
        errors.too_long((*path, "placeholder"), SELECT_PLACEHOLDER_MAX)
    options = component.get("options")
    if kind == 3 and isinstance(options, list):
        if len(options) > SELECT_OPTIONS_MAX:
            errors.too_long((*path, "options"), SELECT_OPTIONS_MAX)
        for j, option in enumerate(options):
            for key in ("label", "value", "description"):
                _check_text(option, key, 100, (*path, "options", j), errors)
    nested = list(children) if isinstance(children, list) else []
    accessory = component.get("accessory")
    if isinstance(accessory, dict):
        nested.append(accessory)
    for j, child in enumerate(nested):
        _validate_component(child, (*path, "components", j), errors, seen)


def _validate_allowed_mentions(allowed: Any, errors: FormErrors) -> None:
    if not isinstance(allowed, dict):
        return
    parse = allowed.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
        if len(allowed.get(kind) or []) > 100:
            errors.too_long(("allowed_mentions", kind), 100)


def validate_choices(data: dict[str, Any]) -> None:
    errors = FormErrors()
    choices = data.get("choices") or []
    if len(choices) > CHOICES_MAX:
        errors.too_long(("data", "choices"), CHOICES_MAX)
    for i, choice in enumerate(choices):
        name = str(choice.get("name") or "")
        if not 1 <= len(name) <= 100:
            errors.add(
                ("data", "choices", i, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            errors.too_long(("data", "choices", i, "value"), 100)
    errors.raise_if_any()


def validate_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    title = str(data.get("title") or "")
    if not 1 <= len(title) <= 45:
        errors.add(("data", "title"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    if not data.get("custom_id"):
        errors.add(("data", "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    errors.raise_if_any()
