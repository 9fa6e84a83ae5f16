"""Emulator time and Discord snowflake ids.

Emulator time is real monotonic time plus an offset a test can advance, so
windows measured in "Discord time" (nonce dedupe, interaction deadlines, token
expiry) can be crossed without sleeping. Rate limits use real time because
discord.py sleeps real seconds on them.
"""

from __future__ import annotations

import datetime as dt
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class EmulatorClock:
    """Monotonic seconds plus a test-controlled offset."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix seconds, shifted by the same offset."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds

    def iso_now(self) -> str:
        return iso_timestamp(self.wall())


def iso_timestamp(unix_seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(unix_seconds, tz=dt.UTC)
    return moment.isoformat(timespec="microseconds")


class SnowflakeFactory:
    """Issues unique snowflakes.

    Ordinary ids are increasing, one millisecond apart at least. Guild ids come from
    their own sequence (another worker id, so never equal to an ordinary id) whose
    timestamps step by exactly 1 ms: the k-th guild lands on shard ``k % shard_count``
    under Discord's ``(guild_id >> 22) % shard_count``, whatever the shard count.
    """

    _WORKER_DEFAULT = 1 << 17
    _WORKER_GUILDS = 2 << 17

    def __init__(self, clock: EmulatorClock) -> None:
        self._clock = clock
        self._last_ms = 0
        self._increment = 0
        self._guild_base_ms = int(clock.wall() * 1000)
        self._guilds = 0

    def next(self) -> int:
        wall_ms = int(self._clock.wall() * 1000)
        self._last_ms = max(wall_ms, self._last_ms + 1)
        self._increment = (self._increment + 1) & 0xFFF
        return ((self._last_ms - DISCORD_EPOCH_MS) << 22) | self._WORKER_DEFAULT | self._increment

    def next_guild(self) -> int:
        ms = self._guild_base_ms + self._guilds
        self._guilds += 1
        return ((ms - DISCORD_EPOCH_MS) << 22) | self._WORKER_GUILDS

    def reserve(self, snowflake: int) -> int:
        """Accept a caller-chosen id; later ids stay larger than it."""
        self._last_ms = max(self._last_ms, (snowflake >> 22) + DISCORD_EPOCH_MS)
        return snowflake
