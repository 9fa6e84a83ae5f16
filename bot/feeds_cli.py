"""`storywatch feeds import|export`: OPML in and out for the operator, without Discord."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot import admin_service
from bot.errors import AdminError, FeedError
from bot.opml import OpmlFeed, export_opml, parse_opml
from bot.services import build_services
from bot.settings import Settings
from db.migrate import upgrade
from db.repo import feeds as feed_repo

SYSTEM_USER = 0  # "added by" for feeds the operator imports


async def import_feeds(settings: Settings, path: Path, *, guild_id: int) -> int:
    """Add every feed of an OPML file to a server, with the same checks as /feeds add."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"storywatch: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        parsed = parse_opml(data)
    except FeedError as exc:
        print(f"storywatch: {path}: {exc}", file=sys.stderr)
        return 2
    services = await build_services(settings, parse_in_processes=False)
    failures = 0
    try:
        await upgrade(services.engine)
        for entry in parsed.feeds:
            try:
                preview = await admin_service.add_server_feed(
                    services.sessions,
                    services.fetcher,
                    None,
                    settings,
                    guild_id=guild_id,
                    user_id=SYSTEM_USER,
                    url=entry.url,
                    name=entry.name,
                )
            except (AdminError, FeedError) as exc:
                failures += 1
                print(f"failed  {entry.url}: {exc}")
                continue
            print(f"{'exists ' if preview.already_added else 'added  '} {preview.url} ({preview.name})")
        for skipped in parsed.skipped:
            print(f"skipped {skipped}: not an http(s) feed URL")
    finally:
        await services.close()
    print(f"{len(parsed.feeds) - failures} of {len(parsed.feeds)} feeds added to server {guild_id}")
    return 1 if failures and failures == len(parsed.feeds) else 0


async def export_feeds(settings: Settings, *, guild_id: int | None, output: Path | None) -> int:
    """A server's own feeds, or (no --guild) every config and server feed, as OPML."""
    from db.engine import make_engine, make_session_factory

    engine = make_engine(settings.database.url)
    try:
        await upgrade(engine)
        async with make_session_factory(engine)() as session:
            if guild_id is None:
                rows = [(f, f.name) for f in await feed_repo.all_feeds(session) if f.kind != "search"]
                title = "Storywatch feeds"
            else:
                rows = await feed_repo.guild_own_feeds(session, guild_id)
                title = f"Storywatch feeds of server {guild_id}"
    finally:
        await engine.dispose()
    document = export_opml([OpmlFeed(name=name, url=feed.url) for feed, name in rows], title=title)
    if output is None:
        sys.stdout.write(document.decode())
    else:
        await asyncio.to_thread(output.write_bytes, document)
        print(f"wrote {len(rows)} feeds to {output}", file=sys.stderr)
    return 0
