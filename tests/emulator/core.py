"""Configuration and the shared services every route and helper works with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.emulator import intents as gw_intents
from tests.emulator.clock import EmulatorClock
from tests.emulator.faults import FaultInjector
from tests.emulator.gateway import GatewayConfig, GatewayHub
from tests.emulator.interaction import Interaction
from tests.emulator.models import StoredMessage
from tests.emulator.payloads import member_payload
from tests.emulator.ratelimit import RateLimiter
from tests.emulator.recording import ChangeNotifier, RecordedRequest, Stats
from tests.emulator.state import EmulatorState

API_PREFIX = "/api/v10"


@dataclass
class EmulatorConfig:
    token: str = "test-token"
    host: str = "127.0.0.1"
    port: int = 0
    rate_limits: bool = True
    message_rate: tuple[int, float] = (5, 5.0)  # per channel: messages, seconds
    default_rate: tuple[int, float] = (50, 1.0)  # every other route bucket
    global_limit: int = 50  # requests per second per token (interactions exempt)
    heartbeat_interval_ms: int = 41250
    nonce_window: float = 300.0  # emulator seconds an enforce_nonce send is remembered
    interaction_deadline: float | None = 3.0  # seconds to send the first callback
    interaction_token_ttl: float = 900.0  # followups/edits allowed for 15 minutes
    resume_window: float = 120.0
    recommended_shards: int = 1
    allowed_privileged_intents: int = gw_intents.PRIVILEGED
    bot_name: str = "Storywatch"
    record_requests: bool = True  # off for long benchmarks; unknown routes are always kept


class EmulatorCore:
    """State plus the machinery around it; route modules and the facade share one."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = EmulatorClock()
        self.notifier = ChangeNotifier()
        self.stats = Stats()
        self.state = EmulatorState(self.clock, bot_name=config.bot_name)
        self.faults = FaultInjector()
        self.limiter = RateLimiter(global_limit=config.global_limit, enabled=config.rate_limits)
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.base_url = ""
        self.hub = GatewayHub(
            self.state,
            GatewayConfig(
                token=config.token,
                heartbeat_interval_ms=config.heartbeat_interval_ms,
                resume_window=config.resume_window,
                allowed_privileged_intents=config.allowed_privileged_intents,
            ),
            clock=self.clock,
            notifier=self.notifier,
            stats=self.stats,
            gateway_url=lambda: self.gateway_url,
            outage=lambda: self.faults.outage,
        )

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/"

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None) -> int:
        return await self.hub.dispatch(event, data, guild_id=guild_id)

    def message_event(self, stored: StoredMessage) -> tuple[dict[str, Any], int | None]:
        """MESSAGE_CREATE/UPDATE data: the message plus guild_id and the author's member."""
        data = dict(stored.data)
        channel = self.state.channels.get(stored.channel_id)
        guild_id = channel.guild_id if channel is not None else None
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            author_id = int(data["author"]["id"])
            member = self.state.guilds[guild_id].members.get(author_id)
            if member is not None and "webhook_id" not in data:
                data["member"] = member_payload(self.state, member, with_user=False)
        return data, guild_id

    async def dispatch_message(self, event: str, stored: StoredMessage) -> None:
        if stored.ephemeral:
            return  # ephemeral messages never reach the gateway
        data, guild_id = self.message_event(stored)
        await self.dispatch(event, data, guild_id=guild_id)

    async def dispatch_message_delete(self, stored: StoredMessage) -> None:
        if stored.ephemeral:
            return
        data: dict[str, Any] = {"id": str(stored.id), "channel_id": str(stored.channel_id)}
        channel = self.state.channels.get(stored.channel_id)
        guild_id = channel.guild_id if channel is not None else None
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        await self.dispatch("MESSAGE_DELETE", data, guild_id=guild_id)
