"""The Discord emulator as a separate process (``python -m tests.emulator``) on 127.0.0.1.

Rate limits stay on (Discord's: 5 messages per 5 s per channel, 50 requests/s
global). The emulator prints one JSON line with its URLs, token and guild ids.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Self

from bench.common import REPO

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class EmulatedGuild:
    guild_id: int
    channel_ids: tuple[int, int]  # news, general
    member_ids: tuple[int, ...]


class EmulatorProcess:
    def __init__(self, guilds: int) -> None:
        self.guilds_wanted = guilds
        self.api_base = ""
        self.gateway_url = ""
        self.token = ""
        self.guilds: list[EmulatedGuild] = []
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the emulator is not running")
        return self._process.pid

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.emulator", "--port", "0", "--guilds",
             str(self.guilds_wanted)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT)
        if not ready:
            self.stop()
            raise RuntimeError(f"the emulator printed nothing within {START_TIMEOUT:.0f} s")
        line = stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the emulator exited before it was ready")
        info: dict[str, Any] = json.loads(line)
        self.api_base, self.gateway_url = info["api_base"], info["gateway_url"]
        self.token = info["token"]
        self.guilds = [
            EmulatedGuild(
                guild_id=int(g["guild_id"]),
                channel_ids=(int(g["news_channel_id"]), int(g["general_channel_id"])),
                member_ids=tuple(int(m) for m in g["member_ids"]),
            )
            for g in info["guilds"]
        ]

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
