"""`storywatch poll --once`: poll every feed once without Discord and report what happened."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.polling import PollContext, poll_due_feeds
from bot.services import build_services
from bot.settings import Settings
from db.migrate import upgrade
from db.repo import feeds as feed_repo


async def poll_once(settings: Settings) -> int:
    services = await build_services(settings, parse_in_processes=False)
    try:
        await upgrade(services.engine)
        await services.refresh_matcher()
        now = datetime.now(UTC)
        async with services.sessions.begin() as session:
            await feed_repo.upsert_config_feeds(
                session,
                [(f.name, f.url) for f in settings.feeds],
                interval=settings.polling.interval_seconds,
                now=now,
            )
            await feed_repo.make_all_due(session, now=now)
        ctx = PollContext(
            settings=settings,
            sessions=services.sessions,
            fetcher=services.fetcher,
            parse_pool=None,
            matcher=services.matcher,
            worker_id=services.worker_id,
            dry_run=True,
        )
        outcomes = await poll_due_feeds(ctx, limit=100_000)
        for outcome in sorted(outcomes, key=lambda o: o.url):
            detail = outcome.error or f"{outcome.new_items} new"
            print(f"{outcome.status:<9} {outcome.url}  {detail}")
            for title, where in outcome.would_alert:
                print(f"    would alert {', '.join(where)}: {title}")
        failed = sum(1 for o in outcomes if o.status in ("failed", "disabled"))
        print(f"{len(outcomes)} feeds polled, {failed} failed")
        return 1 if outcomes and failed == len(outcomes) else 0
    finally:
        await services.close()
