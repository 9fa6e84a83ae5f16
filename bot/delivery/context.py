"""What the sender jobs share: the database, the transport, settings and the drain's knobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import utcnow
from bot.delivery.transport import AlertTransport
from bot.metrics import Metrics
from bot.settings import AlertSettings
from db.engine import SessionFactory


@dataclass
class SendContext:
    sessions: SessionFactory
    transport: AlertTransport
    worker_id: str
    alerts: AlertSettings = field(default_factory=AlertSettings)
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow
    batch_size: int = 100
    # Channels sent to at once: Discord's global limit (50 requests/s) binds before the
    # per-channel one (5 per 5 s) only when about 50 channels are busy at the same time.
    # No claim starts at or above it, and claimed channels beyond it wait their turn.
    channel_concurrency: int = 50
    # Set by the poller when it queued deliveries: a running drain claims them at once.
    queued: asyncio.Event = field(default_factory=asyncio.Event)
    # While channels are busy, how often to look for rows that became due by time alone
    # (retries, held rows) without being announced.
    refill_seconds: float = 1.0
    # Long enough for a batch in one rate-limited channel (5 per 5 s); short enough that a
    # crashed worker's claims are taken over within a minute.
    lease: timedelta = timedelta(seconds=50)
    # Without the Server Members intent the bot never hears that a member left, so it asks
    # Discord before mentioning anyone; members who left lose their follows there.
    check_membership: bool = False
