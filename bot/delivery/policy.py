"""Per-channel delivery rules as pure values: story threads and the flood cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.settings import AlertSettings
from db.models import GuildSettings


@dataclass(frozen=True)
class AlertPolicy:
    story_mode: str  # thread | separate
    story_window: timedelta
    max_per_window: int
    window: timedelta
    quiet_hours: str = ""  # "23:00-07:00"; empty: none
    timezone: str = "UTC"
    bundle_max: int = 5  # new alerts due together in one message; 1: one message each
    alert_buttons: bool = True  # channel alerts carry the follow / unfollow button


def policy_of(row: GuildSettings | None, defaults: AlertSettings) -> AlertPolicy:
    """A server's rules: what its admins set with /settings over the [alerts] defaults."""
    return AlertPolicy(
        story_mode=(row.story_mode if row and row.story_mode else defaults.story_mode),
        story_window=timedelta(hours=defaults.story_window_hours),
        max_per_window=(row.max_per_window if row and row.max_per_window else defaults.max_per_window),
        window=timedelta(seconds=(row.window_seconds if row and row.window_seconds else defaults.window_seconds)),
        quiet_hours=(row.quiet_hours if row and row.quiet_hours is not None else defaults.quiet_hours),
        timezone=(row.timezone if row and row.timezone else defaults.timezone),
        bundle_max=(1 if row and row.bundle_alerts is False else defaults.bundle_max),
        alert_buttons=(row.alert_buttons if row and row.alert_buttons is not None else defaults.alert_buttons),
    )


@dataclass(frozen=True)
class FloodWindow:
    """A fixed window that starts with its first alert; ``count`` alerts sent in it."""

    start: datetime | None
    count: int

    def admit(self, now: datetime, policy: AlertPolicy) -> tuple[bool, FloodWindow]:
        """Whether one more alert may ping now, and the window after it."""
        if self.start is None or now >= self.start + policy.window:
            return True, FloodWindow(now, 1)
        if self.count < policy.max_per_window:
            return True, FloodWindow(self.start, self.count + 1)
        return False, self

    def closes_at(self, policy: AlertPolicy) -> datetime | None:
        return None if self.start is None else self.start + policy.window


def story_is_open(last_article_at: datetime, now: datetime, policy: AlertPolicy) -> bool:
    return now - last_article_at <= policy.story_window


def outlets_line(outlets: list[str], *, shown: int = 3) -> str:
    """``+3 outlets: Us Weekly, Page Six, E! News`` for the first alert's footer."""
    others = outlets[1:]
    if not others:
        return ""
    names = ", ".join(others[:shown])
    more = f" and {len(others) - shown} more" if len(others) > shown else ""
    return f"+{len(others)} outlet{'s' if len(others) != 1 else ''}: {names}{more}"
