"""Typed, validated, frozen settings loaded once from config.toml and the environment.

Every section is a frozen dataclass; ``load_settings`` walks the TOML document against
those dataclasses, so an unknown key or a wrong type is refused with the key's dotted
name and its line in the file, before anything connects. Secrets (the Discord token)
never live here: they come from the environment only.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.delivery.render import EMBEDS_PER_MESSAGE
from bot.errors import ConfigError

DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_SEARCH_TEMPLATE = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"


@dataclass(frozen=True)
class DiscordSettings:
    api_base: str = DEFAULT_API_BASE
    gateway_url: str = DEFAULT_GATEWAY_URL
    guild_ready_timeout: float = 2.0
    dev_guild_id: int | None = None
    # Privileged "Server Members" intent: enable it in the Developer Portal, or set false.
    members_intent: bool = True
    # Gateway shards held by this process (None: all of them, unsharded when count is 1).
    shard_ids: list[int] | None = None
    shard_count: int | None = None


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///storywatch.db"


@dataclass(frozen=True)
class PollingSettings:
    interval_seconds: float = 300.0
    min_interval_seconds: float | None = None  # default: interval_seconds
    max_interval_seconds: float | None = None  # default: 4 x interval_seconds
    timeout_seconds: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 50
    per_host_concurrency: int = 2
    failure_floor_seconds: float = 60.0
    failure_cap_seconds: float = 6 * 3600.0
    disable_after_failures: int | None = None  # default: about a day of failures
    max_item_age_hours: float = 48.0
    retention_days: float = 30.0
    parse_workers: int = 2
    # How long a worker's claim on a due feed lasts (default: 2 x timeout + 30 s); a worker
    # that dies mid-poll has its feeds taken over by the others after this.
    claim_lease_seconds: float | None = None

    @property
    def lease(self) -> float:
        return self.claim_lease_seconds or 2 * self.timeout_seconds + 30

    @property
    def min_interval(self) -> float:
        return self.min_interval_seconds or self.interval_seconds

    @property
    def max_interval(self) -> float:
        return self.max_interval_seconds or 4 * self.interval_seconds


@dataclass(frozen=True)
class SearchFeedSettings:
    enabled: bool = True
    template: str = DEFAULT_SEARCH_TEMPLATE
    interval_seconds: float = 900.0


@dataclass(frozen=True)
class FollowSettings:
    max_per_member: int = 25
    max_query_chars: int = 200
    max_terms: int = 10


@dataclass(frozen=True)
class AlertSettings:
    story_mode: str = "thread"  # thread | separate
    story_window_hours: float = 48.0
    max_per_window: int = 10
    window_seconds: float = 600.0
    digest_time: str = "08:00"
    quiet_hours: str = ""  # e.g. "23:00-07:00"; empty: none
    timezone: str = "UTC"
    send_interval_seconds: float = 1.0
    # Alerts due in a channel at the same time (a burst, a channel catching up) go out
    # together, up to this many articles in one message; 1: one message per alert.
    bundle_max: int = 5
    # A channel alert carries a button that lets a member follow or unfollow what it
    # matched; servers can turn it off (/settings alert_buttons).
    alert_buttons: bool = True
    # How long a worker's claim on queued alerts lasts before another worker may send them.
    claim_lease_seconds: float = 50.0


@dataclass(frozen=True)
class LimitSettings:
    feeds_per_server: int = 100
    member_changes_per_minute: int = 5
    server_changes_per_minute: int = 60
    member_reads_per_minute: int = 20


@dataclass(frozen=True)
class SecuritySettings:
    allow_private_feed_urls: bool = False


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    json: bool = False


@dataclass(frozen=True)
class HealthSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8081


@dataclass(frozen=True)
class FeedEntry:
    name: str
    url: str


@dataclass(frozen=True)
class Settings:
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    polling: PollingSettings = field(default_factory=PollingSettings)
    search_feeds: SearchFeedSettings = field(default_factory=SearchFeedSettings)
    follows: FollowSettings = field(default_factory=FollowSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    feeds: list[FeedEntry] = field(default_factory=list)
    source: str = "<defaults>"


# Environment variables that override a key of the file: (section, key) -> variable.
ENV_OVERRIDES: Mapping[tuple[str, str], str] = {
    ("database", "url"): "STORYWATCH_DATABASE_URL",
    ("discord", "api_base"): "DISCORD_API_BASE",
    ("discord", "gateway_url"): "DISCORD_GATEWAY_URL",
}


class _LineFinder:
    """Finds the line of a key in the TOML text, for error messages (tomllib gives none)."""

    _table = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _key = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, int, str], int] = {}
        self._tables: dict[tuple[str, int], int] = {}
        counts: dict[str, int] = {}
        section, index = "", 0
        for number, line in enumerate(text.splitlines(), start=1):
            if match := self._table.match(line):
                section = match.group(2).replace('"', "").replace("'", "")
                if match.group(1) == "[[":
                    counts[section] = counts.get(section, -1) + 1
                    index = counts[section]
                else:
                    index = 0
                self._tables.setdefault((section, index), number)
            elif match := self._key.match(line):
                key = match.group(1).strip("\"'")
                self._lines.setdefault((section, index, key), number)

    def line(self, section: str, key: str | None, index: int = 0) -> int | None:
        if key is None:
            return self._tables.get((section, index))
        return self._lines.get((section, index, key)) or self._tables.get((section, index))


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_origin(tp) is list:
        return "a list"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (ints widen to floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is list:
        (item_type,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, not {type(value).__name__}")
        return [_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, not {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")


def _build(cls: Any, data: Mapping[str, Any], section: str, lines: _LineFinder, index: int = 0) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{section}.{key}" if section else key
        line = lines.line(section, key, index)
        at = f" (line {line})" if line else ""
        if key not in known:
            raise ConfigError(f"unknown key '{dotted}'{at}")
        try:
            kwargs[key] = _coerce(value, hints[key], f"'{dotted}'")
        except ConfigError as exc:
            raise ConfigError(f"{exc}{at}") from None
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in kwargs
    ]
    if missing:
        line = lines.line(section, None, index)
        at = f" (line {line})" if line else ""
        raise ConfigError(f"missing key '{section}.{missing[0]}'{at}")
    return cls(**kwargs)


def _check_positive(value: float | int | None, name: str) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"'{name}' must be positive, not {value!r}")


def _validate(settings: Settings) -> None:
    polling = settings.polling
    for name in ("interval_seconds", "timeout_seconds", "failure_floor_seconds"):
        _check_positive(getattr(polling, name), f"polling.{name}")
    for name in ("max_body_bytes", "concurrency", "per_host_concurrency", "parse_workers"):
        _check_positive(getattr(polling, name), f"polling.{name}")
    _check_positive(polling.min_interval_seconds, "polling.min_interval_seconds")
    _check_positive(polling.claim_lease_seconds, "polling.claim_lease_seconds")
    _check_positive(settings.alerts.claim_lease_seconds, "alerts.claim_lease_seconds")
    _check_positive(settings.alerts.send_interval_seconds, "alerts.send_interval_seconds")
    _check_positive(polling.max_interval_seconds, "polling.max_interval_seconds")
    if polling.max_interval < polling.min_interval:
        raise ConfigError("'polling.max_interval_seconds' must be >= min_interval_seconds")
    if polling.max_redirects < 0:
        raise ConfigError("'polling.max_redirects' must be 0 or more")
    _check_positive(settings.discord.guild_ready_timeout, "discord.guild_ready_timeout")
    _check_positive(settings.search_feeds.interval_seconds, "search_feeds.interval_seconds")
    if "{query}" not in settings.search_feeds.template:
        raise ConfigError("'search_feeds.template' must contain {query}")
    if settings.alerts.story_mode not in ("thread", "separate"):
        raise ConfigError('\'alerts.story_mode\' must be "thread" or "separate"')
    _check_positive(settings.alerts.max_per_window, "alerts.max_per_window")
    if not 1 <= settings.alerts.bundle_max <= EMBEDS_PER_MESSAGE:
        raise ConfigError(
            f"'alerts.bundle_max' must be between 1 and {EMBEDS_PER_MESSAGE} (Discord's embeds per message), "
            f"not {settings.alerts.bundle_max!r}"
        )
    _check_positive(settings.alerts.window_seconds, "alerts.window_seconds")
    _check_positive(settings.follows.max_per_member, "follows.max_per_member")
    if settings.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("'logging.level' must be DEBUG, INFO, WARNING or ERROR")
    shards = settings.discord
    if shards.shard_ids is not None and not shards.shard_count:
        raise ConfigError("'discord.shard_ids' needs 'discord.shard_count'")
    if shards.shard_count is not None and shards.shard_count < 1:
        raise ConfigError("'discord.shard_count' must be at least 1")
    if (
        shards.shard_ids
        and shards.shard_count
        and (min(shards.shard_ids) < 0 or max(shards.shard_ids) >= shards.shard_count)
    ):
        raise ConfigError("'discord.shard_ids' must be between 0 and shard_count - 1")
    if not settings.database.url.strip():
        raise ConfigError("'database.url' must not be empty")
    seen: set[str] = set()
    for i, feed in enumerate(settings.feeds):
        if not feed.url.startswith(("http://", "https://")):
            raise ConfigError(f"'feeds[{i}].url' must be an http(s) URL, not {feed.url!r}")
        if feed.url in seen:
            raise ConfigError(f"'feeds[{i}].url' is listed twice: {feed.url}")
        seen.add(feed.url)


def parse_settings(text: str, source: str, env: Mapping[str, str]) -> Settings:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    lines = _LineFinder(text)
    sections: dict[str, Any] = {}
    hints = typing.get_type_hints(Settings)
    for key, value in document.items():
        if key == "feeds":
            if not isinstance(value, list):
                raise ConfigError(f"'feeds' must be a list of [[feeds]] tables (line {lines.line('feeds', None)})")
            feeds = []
            for i, entry in enumerate(value):
                if not isinstance(entry, dict):
                    raise ConfigError(f"'feeds[{i}]' must be a table")
                feeds.append(_build(FeedEntry, entry, "feeds", lines, i))
            sections["feeds"] = feeds
            continue
        if key not in hints or key == "source":
            line = lines.line(key, None)
            at = f" (line {line})" if line else ""
            raise ConfigError(f"unknown section or key '{key}'{at}")
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a [{key}] table (line {lines.line('', key)})")
        sections[key] = dict(value)
    for (section, key), variable in ENV_OVERRIDES.items():
        if env.get(variable):
            sections.setdefault(section, {})[key] = env[variable]
    built: dict[str, Any] = {"source": source}
    for name, value in sections.items():
        if name == "feeds":
            built[name] = value
        else:
            built[name] = _build(hints[name], value, name, lines)
    settings = Settings(**built)
    _validate(settings)
    return settings


def load_settings(path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> Settings:
    """Load ``path`` (or STORYWATCH_CONFIG, or ./config.toml). Raises ConfigError."""
    environ = os.environ if env is None else env
    chosen = Path(path or environ.get("STORYWATCH_CONFIG") or "config.toml")
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {chosen} (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {chosen}: {exc}") from None
    try:
        return parse_settings(text, str(chosen), environ)
    except ConfigError as exc:
        raise ConfigError(f"{chosen}: {exc}") from None
