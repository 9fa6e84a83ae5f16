"""Runs the real bot (`python -m bot run`) as a subprocess with a temporary config."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class BotConfig:
    api_base: str
    gateway_url: str
    database_url: str
    feeds: list[tuple[str, str]] = field(default_factory=list)
    interval: float = 1.0
    dev_guild_id: int | None = None
    extra: str = ""  # more TOML appended verbatim (whole sections)
    polling_extra: str = ""  # more keys inside [polling]
    log_level: str = "DEBUG"
    members_intent: bool = True
    search_enabled: bool = False
    search_template: str = "http://127.0.0.1:9/search?q={query}"
    search_interval: float = 1.0

    def toml(self) -> str:
        lines = [
            "[discord]",
            f'api_base = "{self.api_base}"',
            f'gateway_url = "{self.gateway_url}"',
            "guild_ready_timeout = 0.5",
            f"members_intent = {'true' if self.members_intent else 'false'}",
        ]
        if self.dev_guild_id:
            lines.append(f"dev_guild_id = {self.dev_guild_id}")
        lines += [
            "[database]",
            f'url = "{self.database_url}"',
            "[polling]",
            f"interval_seconds = {self.interval}",
            "timeout_seconds = 5",
            "failure_floor_seconds = 1",
            "parse_workers = 1",
            self.polling_extra,
            "[search_feeds]",
            f"enabled = {'true' if self.search_enabled else 'false'}",
            f'template = "{self.search_template}"',
            f"interval_seconds = {self.search_interval}",
            "[logging]",
            f'level = "{self.log_level}"',
        ]
        lines.append(self.extra)
        for name, url in self.feeds:
            lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
        return "\n".join(lines) + "\n"


class BotProcess:
    def __init__(
        self,
        config: BotConfig,
        workdir: Path,
        token: str = "test-token",
        args: tuple[str, ...] = (),
        name: str = "bot",
    ) -> None:
        self.config = config
        self.workdir = workdir
        self.token = token
        self.proc: asyncio.subprocess.Process | None = None
        self.args = args
        self.log_path = workdir / f"{name}.log"
        self.config_path = workdir / f"{name}.toml"
        self.returncode: int | None = None

    async def start(self) -> None:
        self.config_path.write_text(self.config.toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STORYWATCH_"))}
        env.update(DISCORD_TOKEN=self.token, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config_path),
            *self.args,
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait; the bot must exit cleanly within ``timeout`` seconds."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"bot did not stop within {timeout}s:\n{self.output()[-4000:]}") from None
        return self.returncode

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()

    async def wait_exit(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.returncode = await asyncio.wait_for(self.proc.wait(), timeout)
        return self.returncode
