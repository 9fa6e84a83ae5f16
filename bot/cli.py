"""The ``storywatch`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

TOKEN_HELP = (
    "DISCORD_TOKEN is not set: export DISCORD_TOKEN=<your bot token> "
    "(Discord Developer Portal → your application → Bot → Reset Token)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storywatch", description="Discord alerts for the stories you follow."
    )
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
    db = with_config(sub.add_parser("db", help="database maintenance"))
    db.add_argument("action", choices=["upgrade"], help="apply the schema migrations")
    with_config(
        sub.add_parser("check-config", help="validate the configuration and print a summary")
    )
    poll = with_config(sub.add_parser("poll", help="poll every feed once without Discord"))
    poll.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    feeds = sub.add_parser("feeds", help="import or export feeds as OPML")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    imp = with_config(
        feeds_sub.add_parser("import", help="add the feeds of an OPML file to a server")
    )
    imp.add_argument("file", type=Path, help="an .opml file")
    imp.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    exp = with_config(feeds_sub.add_parser("export", help="write feeds as OPML"))
    exp.add_argument(
        "--guild", type=int, help="only this server's own feeds (default: config and server feeds)"
    )
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
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
    lines = [
        f"config: {settings.source} (valid)",
        f"database: {settings.database.url}",
        f"discord: api {settings.discord.api_base}, gateway {settings.discord.gateway_url}, "
        f"commands synced {'to guild ' + str(settings.discord.dev_guild_id) if settings.discord.dev_guild_id else 'globally'}",
        f"token: {'set in DISCORD_TOKEN' if token_set else 'NOT SET (export DISCORD_TOKEN=...)'}",
        f"polling: every {settings.polling.interval_seconds:g}s "
        f"(adaptive {settings.polling.min_interval:g}-{settings.polling.max_interval:g}s)",
        f"search feeds: {'on, every ' + format(settings.search_feeds.interval_seconds, 'g') + 's' if settings.search_feeds.enabled else 'off'}",
        f"feeds ({len(settings.feeds)}):",
    ]
    lines += [f"  - {feed.name}: {feed.url}" for feed in settings.feeds]
    return "\n".join(lines)
