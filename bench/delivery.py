"""Section 4: draining the alert outbox into the Discord emulator, rate limits on.

The emulator runs in its own process with Discord's limits (5 messages per 5 s per
channel, 50 requests/s global), 50 guilds of 2 text channels each: 100 channels.
N alerts are queued the way polls queue them (each article to every channel, so
consecutive rows go to different channels), then drained by the bot's own sender
(``deliver_due``) over ``DiscordTransport`` and a logged-in discord.py client (REST
only), with the flood cap lifted. Twice, side by side: one message per alert (the
baseline, ``bundle_max = 1``) and the default, where alerts due in a channel at once
share a message (up to 5). Afterwards every channel's history is read back from the
emulator: each delivery must be 'sent', its article must be an embed of the message
it was marked sent in, no article twice in a channel, nothing else there.

    python -m bench.delivery [--quick] [--alerts N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import discord.http
from sqlalchemy import select

from bench.common import CpuMeter, PeakRss, Stopwatch, load_headlines, markdown_table
from bench.emulator import EmulatedGuild, EmulatorProcess
from bench.latest import article_rows
from bot.delivery.context import SendContext
from bot.delivery.sender import deliver_due
from bot.discord_transport import DiscordTransport
from bot.settings import AlertSettings
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Delivery, Item
from db.repo import deliveries as delivery_repo
from db.repo import feeds as feed_repo
from db.repo import items as item_repo

GUILDS = 50  # x 2 channels
GLOBAL_LIMIT = 50.0  # requests/s, Discord's and the emulator's
CHANNEL_LIMIT = 1.0  # messages/s per channel (5 per 5 s)
DRAIN_TIMEOUT = 1_800.0
PAGE = 100


async def queue_alerts(sessions: SessionFactory, guilds: list[EmulatedGuild], alerts: int) -> list[int]:
    """Store the articles and queue one alert per (article, channel); returns channel ids."""
    targets = [(g, c) for g in guilds for c in g.channel_ids]
    articles = -(-alerts // len(targets))
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        feed = await feed_repo.get_or_create_feed(
            session, url="https://news.example.com/rss", name="Bench News", kind="config",
            trusted=True, interval=300.0, now=now,
        )  # fmt: skip
        stored = await item_repo.record_items(session, feed.id, article_rows(load_headlines(), articles), now=now)
        new: list[delivery_repo.NewDelivery] = []
        for item_id, row in stored:
            for guild, channel_id in targets:
                if len(new) == alerts:
                    break
                new.append(
                    delivery_repo.NewDelivery(
                        item_id=item_id,
                        guild_id=guild.guild_id,
                        channel_id=channel_id,
                        article_identity=row.article_key or f"item:{item_id}",
                        user_ids=guild.member_ids,
                        queries=("bench",),
                    )
                )
        queued = await delivery_repo.enqueue(session, new, now=now)
    if queued != alerts:
        raise RuntimeError(f"queued {queued} alerts, wanted {alerts}")
    return [channel for _, channel in targets]


class RateLimitCounter(logging.Handler):
    """Counts the 429s discord.py reports (it logs each one before waiting and retrying)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.hits = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "rate limit" in record.getMessage().lower():
            self.hits += 1


async def drain(ctx: SendContext, deadline: float) -> int:
    """Run the sender job until nothing is pending (it reschedules rate-limited rows)."""
    sent = 0
    while time.monotonic() < deadline:
        sent += await deliver_due(ctx)
        async with ctx.sessions() as session:
            if not await delivery_repo.pending_count(session):
                return sent
        await asyncio.sleep(ctx.alerts.send_interval_seconds)  # the job's next tick
    return sent


async def channel_history(client: discord.Client, channel_id: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = await client.http.logs_from(channel_id, PAGE, before=before)
        messages.extend(page)  # type: ignore[arg-type]
        if len(page) < PAGE:
            return messages
        before = min(int(m["id"]) for m in page)


async def verify(sessions: SessionFactory, client: discord.Client, channel_ids: list[int]) -> dict[str, Any]:
    """Compare the outbox with what the emulator holds, channel by channel: every
    delivery's article (its link) is an embed of the message it was marked sent in."""
    async with sessions() as session:
        rows = (await session.execute(select(Delivery, Item.link).join(Item, Item.id == Delivery.item_id))).all()
    statuses = Counter(row.status for row, _link in rows)
    expected: dict[int, dict[str, int | None]] = {c: {} for c in channel_ids}
    for row, link in rows:
        expected[row.channel_id][str(link)] = row.message_id
    lost = duplicated = unexpected = 0
    per_channel: list[int] = []
    for channel_id in channel_ids:
        history = await channel_history(client, channel_id)
        per_channel.append(len(history))
        carried = [(int(m["id"]), str(e.get("url"))) for m in history for e in m.get("embeds") or []]
        links = Counter(link for _message, link in carried)
        in_messages = set(carried)
        lost += sum(1 for link, message in expected[channel_id].items() if (message, link) not in in_messages)
        duplicated += sum(count - 1 for count in links.values() if count > 1)
        unexpected += sum(1 for link in links if link not in expected[channel_id])
        unexpected += sum(1 for m in history if not m.get("embeds"))
    return {
        "deliveries": len(rows),
        "statuses": dict(statuses),
        "messages": sum(per_channel),
        "messages_per_channel": [min(per_channel), max(per_channel)],
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "ok": statuses.get("sent", 0) == len(rows) and not (lost or duplicated or unexpected),
    }


async def run_async(alerts: int, workdir: Path, *, bundle_max: int = AlertSettings.bundle_max) -> dict[str, Any]:
    emulator = EmulatorProcess(GUILDS)
    emulator.start()
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'delivery.db'}")
    client: discord.Client | None = None
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        channel_ids = await queue_alerts(sessions, emulator.guilds, alerts)
        discord.http.Route.BASE = emulator.api_base
        discord.VoiceClient.warn_nacl = False
        client = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=30.0)
        await client.login(emulator.token)
        settings = AlertSettings(max_per_window=10**9, bundle_max=bundle_max)  # flood cap out of the way
        ctx = SendContext(
            sessions=sessions,
            transport=DiscordTransport(client),
            worker_id="bench-sender",
            alerts=settings,
            lease=timedelta(seconds=settings.claim_lease_seconds),
        )
        cpu, rss = CpuMeter(exclude={emulator.pid}), PeakRss(exclude={emulator.pid})
        with rss, Stopwatch(cpu, rss) as watch, counting_429s() as limited:
            sent = await drain(ctx, time.monotonic() + DRAIN_TIMEOUT)
        measured = watch.measured
        proof = await verify(sessions, client, channel_ids)
        messages_per_s = proof["messages"] / measured.seconds
        return {
            "bundle_max": bundle_max,
            "alerts": alerts,
            "channels": len(channel_ids),
            "sent": sent,
            "seconds": round(measured.seconds, 2),
            "alerts_per_s": round(sent / measured.seconds, 2),
            "messages_per_s": round(messages_per_s, 2),
            "ratio_to_global_limit": round(messages_per_s / GLOBAL_LIMIT, 3),
            "channel_limit_msgs_per_s": CHANNEL_LIMIT * len(channel_ids),
            "cpu_s_per_alert": round(measured.cpu_seconds / max(sent, 1), 5),
            "peak_rss_mb": round(measured.peak_rss_mb, 1),
            "metrics": dict(ctx.metrics.counters),
            "rate_limited_429s": limited.hits,
            "proof": proof,
        }
    finally:
        if client is not None:
            await client.close()
        await engine.dispose()
        emulator.stop()


@contextlib.contextmanager
def counting_429s() -> Iterator[RateLimitCounter]:
    """Count discord.py's rate-limit warnings instead of printing them."""
    logger = logging.getLogger("discord.http")
    counter = RateLimitCounter()
    saved = logger.propagate
    logger.addHandler(counter)
    logger.propagate = False
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.propagate = saved


def run(quick: bool, *, alerts: int | None = None) -> dict[str, Any]:
    """The baseline (one message per alert) and the default (bundles), one after the other."""
    count = alerts or (2_000 if quick else 10_000)
    results = {}
    for mode, bundle_max in (("one_per_message", 1), ("bundled", AlertSettings.bundle_max)):
        with tempfile.TemporaryDirectory(prefix="sw-bench-delivery-") as tmp:
            results[mode] = asyncio.run(run_async(count, Path(tmp), bundle_max=bundle_max))
    return results


def markdown(results: dict[str, Any]) -> str:
    rows = []
    for mode, result in results.items():
        proof = result["proof"]
        rows.append(
            [
                "one message per alert" if mode == "one_per_message" else f"bundled (up to {result['bundle_max']})",
                f"{result['alerts']:,}",
                f"{result['channels']}",
                f"{result['seconds']:.1f}",
                f"{result['alerts_per_s']:.1f}",
                f"{result['messages_per_s']:.1f}",
                f"{result['ratio_to_global_limit']:.0%}",
                f"{result['rate_limited_429s']}",
                f"{result['cpu_s_per_alert'] * 1000:.1f}",
                f"{result['peak_rss_mb']:,.0f}",
                ",".join(f"{k}={v}" for k, v in sorted(proof["statuses"].items())),
                "{:,} ({}-{}/channel)".format(proof["messages"], *proof["messages_per_channel"]),
                f"{proof['lost']}",
                f"{proof['duplicated']}",
                f"{proof['unexpected']}",
                "yes" if proof["ok"] else "NO",
            ]
        )
    table = markdown_table(
        ["mode", "alerts", "channels", "s", "alerts/s", "msgs/s", "of 50/s global", "429s seen",
         "CPU ms/alert", "peak RSS MB",
         "delivery rows", "messages in emulator", "lost", "duplicated", "unexpected",
         "checks"],
        rows,
    )  # fmt: skip
    channels = next(iter(results.values()))["channels"]
    return (
        f"{table}\n\nLimits: 5 msgs/5 s per channel x {channels} channels = {channels} msgs/s, but the "
        "global 50 requests/s binds (the history read-back happens after the clock stops)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 alerts instead of 10,000")
    parser.add_argument("--alerts", type=int, default=None)
    args = parser.parse_args()
    print(markdown(run(args.quick, alerts=args.alerts)))


if __name__ == "__main__":
    main()
