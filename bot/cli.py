"""The ``storywatch`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Light on purpose: every parse process imports this module first, as the storywatch
# script's main module, so the heavy libraries are imported inside the commands.
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

# Help text, not a secret.
TOKEN_HELP = "DISCORD_TOKEN is not set: export DISCORD_TOKEN=<your bot token> (Developer Portal → Bot → Reset Token)"  # noqa: S105


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storywatch", description="Discord alerts for the stories you follow.")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            metavar="PATH",
            help="config file (default: $STORYWATCH_CONFIG or ./config.toml)",
        )
        return p

    run = with_config(sub.add_parser("run", help="run the bot"))
    run.add_argument("--json-logs", action="store_true", help="log one JSON object per line")
    run.add_argument(
        "--shards",
        type=shard_range,
        metavar="IDS",
        help="gateway shards this process holds, e.g. 0-3 or 0,2",
    )
    run.add_argument("--shard-count", type=int, metavar="N", help="total gateway shards across all processes")
    db = with_config(sub.add_parser("db", help="database maintenance"))
    db.add_argument("action", choices=["upgrade"], help="apply the schema migrations")
    with_config(sub.add_parser("check-config", help="validate the configuration and print a summary"))
    poll = with_config(sub.add_parser("poll", help="poll every feed once without Discord"))
    poll.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    feeds = sub.add_parser("feeds", help="import or export feeds as OPML")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    imp = with_config(feeds_sub.add_parser("import", help="add the feeds of an OPML file to a server"))
    imp.add_argument("file", type=Path, help="an .opml file")
    imp.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    exp = with_config(feeds_sub.add_parser("export", help="write feeds as OPML"))
    exp.add_argument("--guild", type=int, help="only this server's own feeds (default: config and server feeds)")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    return parser


def shard_range(text: str) -> list[int]:
    """'0-3' -> [0, 1, 2, 3]; '0,2,5' -> [0, 2, 5]."""
    ids: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            ids.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shards must look like 0-3 or 0,2,5, not {text!r}") from None
    if not ids or min(ids) < 0:
        raise argparse.ArgumentTypeError(f"no valid shard ids in {text!r}")
    return sorted(set(ids))


def with_shards(settings: Settings, shards: list[int] | None, count: int | None) -> Settings:
    """Command-line shard options override [discord] shard_ids / shard_count."""
    if shards is None and count is None:
        return settings
    count = count or settings.discord.shard_count
    ids = shards if shards is not None else settings.discord.shard_ids
    if not count:
        raise ConfigError("--shards needs --shard-count (or [discord] shard_count)")
    if ids and max(ids) >= count:
        raise ConfigError(f"shard ids must be below --shard-count {count}")
    return dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, shard_ids=ids, shard_count=count)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.command == "run":
            settings = with_shards(settings, args.shards, args.shard_count)
    except ConfigError as exc:
        print(f"storywatch: configuration error: {exc}", file=sys.stderr)
        return 2
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    configure_logging(
        settings.logging.level,
        json_format=settings.logging.json or getattr(args, "json_logs", False),
        secrets=[token],
    )
    try:
        if args.command == "run":
            if not token:
                print(f"storywatch: {TOKEN_HELP}", file=sys.stderr)
                return 2
            from bot.app import run_bot

            return asyncio.run(run_bot(settings, token))
        if args.command == "db":
            return asyncio.run(_db_upgrade(settings))
        if args.command == "check-config":
            print(describe(settings, token_set=bool(token)))
            return 0
        if args.command == "feeds":
            from bot.feeds_cli import export_feeds, import_feeds

            if args.feeds_command == "import":
                return asyncio.run(import_feeds(settings, args.file, guild_id=args.guild))
            return asyncio.run(export_feeds(settings, guild_id=args.guild, output=args.output))
        if args.command == "poll":
            from bot.poll_once import poll_once

            return asyncio.run(poll_once(settings))
    except ConfigError as exc:
        print(f"storywatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


async def _db_upgrade(settings: Settings) -> int:
    from db.engine import make_engine
    from db.migrate import current_revision, upgrade

    engine = make_engine(settings.database.url)
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


def describe(settings: Settings, *, token_set: bool) -> str:
    """A summary for check-config; never prints the token, only whether it is set."""
    guild = settings.discord.dev_guild_id
    sync_target = f"to guild {guild}" if guild else "globally"
    search = f"on, every {settings.search_feeds.interval_seconds:g}s" if settings.search_feeds.enabled else "off"
    lines = [
        f"config: {settings.source} (valid)",
        f"database: {settings.database.url}",
        f"discord: api {settings.discord.api_base}, gateway {settings.discord.gateway_url}, "
        f"commands synced {sync_target}",
        f"token: {'set in DISCORD_TOKEN' if token_set else 'NOT SET (export DISCORD_TOKEN=...)'}",
        f"polling: every {settings.polling.interval_seconds:g}s "
        f"(adaptive {settings.polling.min_interval:g}-{settings.polling.max_interval:g}s)",
        f"search feeds: {search}",
        f"feeds ({len(settings.feeds)}):",
    ]
    lines += [f"  - {feed.name}: {feed.url}" for feed in settings.feeds]
    return "\n".join(lines)
