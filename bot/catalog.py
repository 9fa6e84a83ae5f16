"""The curated feed catalog: a TOML list of public feeds members can pick by id.

The packaged ``bot/data/catalog.toml`` is the default; an operator may point the bot
at an edited copy. Every entry is checked on load and a bad one is refused with its
position, id and line, so a typo never reaches members.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Literal

from bot.errors import ConfigError, InvalidFeedURL
from bot.fetch.netguard import validate_feed_url

Category = Literal["entertainment", "news", "music", "film-tv"]
CATEGORIES: Final[tuple[Category, ...]] = ("entertainment", "news", "music", "film-tv")

_FIELDS: Final = ("id", "name", "url", "category", "description")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MAX_ID_LENGTH = 64
_ENTRY_HEADER = re.compile(r"^\s*\[\[\s*feeds\s*\]\]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class CatalogFeed:
    id: str
    name: str
    url: str  # normalized by validate_feed_url
    category: Category
    description: str


def load_catalog(path: Path | None = None) -> list[CatalogFeed]:
    """The catalog at ``path``, or the packaged one; raises ConfigError naming the entry."""
    if path is None:
        source = "packaged catalog.toml"
        raw = files("bot").joinpath("data/catalog.toml").read_bytes()
    else:
        source = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the feed catalog {source}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: the feed catalog is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return parse_catalog(document, source=source, text=text)


def parse_catalog(document: dict[str, Any], *, source: str, text: str = "") -> list[CatalogFeed]:
    """Validate an already-parsed catalog document (``text`` only locates entry lines)."""
    unknown = sorted(set(document) - {"feeds"})
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}' (expected only [[feeds]])")
    entries = document.get("feeds", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'feeds' must be a list of [[feeds]] tables")
    header_lines = [text.count("\n", 0, m.start()) + 1 for m in _ENTRY_HEADER.finditer(text)]

    feeds: list[CatalogFeed] = []
    seen_ids: dict[str, int] = {}
    seen_urls: dict[str, str] = {}
    for index, entry in enumerate(entries):
        line = header_lines[index] if index < len(header_lines) else None
        where = _where(source, index, entry, line)
        feed = _parse_entry(entry, where)
        if feed.id in seen_ids:
            raise ConfigError(f"{where}: id '{feed.id}' is already used by feeds[{seen_ids[feed.id]}]")
        if feed.url in seen_urls:
            raise ConfigError(f"{where}: url {feed.url} is already listed as '{seen_urls[feed.url]}'")
        seen_ids[feed.id] = index
        seen_urls[feed.url] = feed.id
        feeds.append(feed)
    return feeds


def _where(source: str, index: int, entry: object, line: int | None) -> str:
    where = f"{source}: feeds[{index}]"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        where += f" (id '{entry['id']}')"
    if line is not None:
        where += f" at line {line}"
    return where


def _parse_entry(entry: object, where: str) -> CatalogFeed:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each entry must be a [[feeds]] table")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'")
    values: dict[str, str] = {}
    for name in _FIELDS:
        value = entry.get(name)
        if value is None:
            raise ConfigError(f"{where}: missing key '{name}'")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: '{name}' must be a non-empty string, not {value!r}")
        values[name] = value.strip()

    feed_id = values["id"]
    if len(feed_id) > _MAX_ID_LENGTH or not _SLUG.fullmatch(feed_id):
        raise ConfigError(
            f"{where}: 'id' must be a slug of lower-case letters, digits and single hyphens "
            f"(at most {_MAX_ID_LENGTH} characters), not {feed_id!r}"
        )
    try:
        url = validate_feed_url(values["url"])
    except InvalidFeedURL as exc:
        raise ConfigError(f"{where}: 'url' is not a usable http(s) feed URL: {exc}") from None
    category = values["category"]
    if category not in CATEGORIES:
        allowed = ", ".join(f'"{c}"' for c in CATEGORIES)
        raise ConfigError(f"{where}: 'category' must be one of {allowed}, not {category!r}")
    return CatalogFeed(
        id=feed_id,
        name=values["name"],
        url=url,
        category=category,
        description=values["description"],
    )
