"""The handle a test gets back for an interaction it injected, and text extraction helpers."""

from __future__ import annotations

from typing import Any

from tests.emulator.messages import FLAG_EPHEMERAL
from tests.emulator.recording import ChangeNotifier
from tests.emulator.state import EmulatorState

TYPE_APPLICATION_COMMAND = 2
TYPE_MESSAGE_COMPONENT = 3
TYPE_AUTOCOMPLETE = 4
TYPE_MODAL_SUBMIT = 5

CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE = 8
CALLBACK_MODAL = 9

# Callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    TYPE_APPLICATION_COMMAND: (4, 5, 9),
    TYPE_MESSAGE_COMPONENT: (4, 5, 6, 7, 9),
    TYPE_AUTOCOMPLETE: (8,),
    TYPE_MODAL_SUBMIT: (4, 5, 6, 7),
}


class Interaction:
    """One injected interaction and everything the bot did in answer to it.

    Message properties return the message as it is *now* (after edits), read from the
    emulator's message store.
    """

    def __init__(
        self,
        *,
        state: EmulatorState,
        notifier: ChangeNotifier,
        payload: dict[str, Any],
        dispatched_at: float,
        source_message_id: int | None = None,
    ) -> None:
        self._state = state
        self._notifier = notifier
        self.payload = payload
        self.dispatched_at = dispatched_at  # emulator clock
        self.source_message_id = source_message_id  # the message a component sits on
        self.response: dict[str, Any] | None = None  # the accepted callback body
        self.rejected_callbacks: list[dict[str, Any]] = []  # late / duplicate callbacks
        self.original_id: int | None = None
        self.original_deleted = False
        self.original_edits: list[dict[str, Any]] = []  # PATCH @original bodies
        self.followup_ids: list[int] = []
        self.delivered_to = 0  # gateway sessions that received the INTERACTION_CREATE

    # ----- identity ---------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])

    @property
    def guild_id(self) -> int | None:
        raw = self.payload.get("guild_id")
        return None if raw is None else int(raw)

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def user_id(self) -> int:
        who = self.payload.get("member", {}).get("user") or self.payload.get("user") or {}
        return int(who["id"])

    # ----- what the bot did -------------------------------------------------------------------

    @property
    def acknowledged(self) -> bool:
        return self.response is not None

    @property
    def response_type(self) -> int | None:
        return None if self.response is None else int(self.response["type"])

    @property
    def original(self) -> dict[str, Any] | None:
        if self.original_id is None or self.original_deleted:
            return None
        stored = self._state.messages.get(self.original_id)
        return None if stored is None else stored.data

    @property
    def followups(self) -> list[dict[str, Any]]:
        return [self._state.messages[m].data for m in self.followup_ids]

    @property
    def ephemeral(self) -> bool:
        """Whether the response message (or deferred response) is only visible to the user."""
        if self.response is None:
            return False
        original = self.original
        if original is not None:
            return bool(int(original.get("flags") or 0) & FLAG_EPHEMERAL)
        data = self.response.get("data") or {}
        return bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        if self.response_type != CALLBACK_AUTOCOMPLETE:
            return None
        assert self.response is not None
        return list((self.response.get("data") or {}).get("choices") or [])

    @property
    def modal(self) -> dict[str, Any] | None:
        if self.response_type != CALLBACK_MODAL:
            return None
        assert self.response is not None
        return dict(self.response.get("data") or {})

    def text(self) -> str:
        """@original (as edited) followed by every followup, flattened for assertions."""
        parts = []
        if self.original is not None:
            parts.append(message_text(self.original))
        elif self.response is not None and self.response.get("data"):
            parts.append(message_text(self.response["data"]))
        parts.extend(message_text(m) for m in self.followups if m is not self.original)
        return "\n".join(p for p in parts if p)

    # ----- waiting ----------------------------------------------------------------------------

    async def wait_response(self, timeout: float = 10.0) -> dict[str, Any]:
        await self._notifier.wait_until(
            lambda: self.response is not None, timeout, f"a response to interaction {self.id}"
        )
        assert self.response is not None
        return self.response

    async def wait_followups(self, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        await self._notifier.wait_until(lambda: len(self.followup_ids) >= n, timeout, f"{n} followup(s) to {self.id}")
        return self.followups

    async def wait_original_edits(self, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        await self._notifier.wait_until(lambda: len(self.original_edits) >= n, timeout, f"{n} edit(s) of @original")
        return list(self.original_edits)

    async def wait_text(self, needle: str, timeout: float = 10.0) -> str:
        """Wait until ``needle`` appears in text(); returns the whole text."""
        await self._notifier.wait_until(lambda: needle in self.text(), timeout, f"{needle!r} in interaction text")
        return self.text()


def message_text(message: dict[str, Any]) -> str:
    """Content, embed titles/descriptions/fields/footers and component labels, one per line."""
    lines: list[str] = []
    if message.get("content"):
        lines.append(str(message["content"]))
    for embed in message.get("embeds") or []:
        author = (embed.get("author") or {}).get("name")
        for value in (author, embed.get("title"), embed.get("description")):
            if value:
                lines.append(str(value))
        for field in embed.get("fields") or []:
            lines.append(f"{field.get('name', '')}: {field.get('value', '')}")
        footer = (embed.get("footer") or {}).get("text")
        if footer:
            lines.append(str(footer))
    for component in message.get("components") or []:
        lines.extend(_component_text(component))
    for attachment in message.get("attachments") or []:
        lines.append(f"[attachment {attachment.get('filename')}]")
    return "\n".join(lines)


def _component_text(component: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("label", "placeholder", "content", "title"):
        if component.get(key):
            lines.append(str(component[key]))
    for option in component.get("options") or []:
        if option.get("label"):
            lines.append(str(option["label"]))
    children = list(component.get("components") or [])
    for key in ("accessory", "component"):
        if isinstance(component.get(key), dict):
            children.append(component[key])
    for child in children:
        lines.extend(_component_text(child))
    return lines


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None
