"""In-repo emulator of Discord's REST API and gateway for end-to-end tests (see README.md)."""

from tests.emulator.api_error import EmulatorUsageError
from tests.emulator.emulator import DiscordEmulator
from tests.emulator.interaction import Interaction, message_text
from tests.emulator.models import StandardGuild, StoredFile
from tests.emulator.permissions import Perm
from tests.emulator.recording import RecordedRequest, Stats

__all__ = [
    "DiscordEmulator",
    "EmulatorUsageError",
    "Interaction",
    "Perm",
    "RecordedRequest",
    "StandardGuild",
    "Stats",
    "StoredFile",
    "message_text",
]
