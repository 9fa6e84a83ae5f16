"""Section 5: end to end, the real bot process: a feed changes -> the alert is in Discord.

Three processes besides this one: the feed server, the Discord emulator (rate limits
on) and ``python -m bot run`` with a temporary config (its own SQLite file, F feeds
polled at the plan's interval, the flood cap lifted). Before the bot starts, a few
thousand follows drawn from headline words are stored over the emulator's channels,
plus, per feed, one follow that the feed's next new headline will match. Once every
feed has had its first (baseline) poll (or after a time limit, among those that
have), K feeds picked at random (seeded) get one new item each, a little apart.
Latency = the alert message's creation time at the emulator (from its snowflake id,
read back from the bot's delivery rows) minus the moment the feed server switched
the document. The figure includes waiting for the feed's next poll (up to one
interval), so it is dominated by the interval.

    python -m bench.e2e [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import REPO, Headline, load_headlines, markdown_table, percentile
from bench.emulator import EmulatedGuild, EmulatorProcess
from bench.feeddocs import roll_headline, roll_marker
from bench.feedserver import FeedServerProcess
from bench.pipeline import follow_texts
from bot.errors import QueryError
from bot.query.parser import parse_query
from bot.stories.stopwords import STOPWORDS
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Delivery, Feed, Item
from db.repo import follows as follow_repo

DISCORD_EPOCH_MS = 1_420_070_400_000
READY_TIMEOUT = 180.0  # at least; half a second per feed when there are more
ALERT_TIMEOUT = 120.0
CHANGE_SEED = 20140601


@dataclass(frozen=True)
class Plan:
    feeds: int
    interval: float
    changes: int
    follows: int
    spacing: float  # seconds between two changes
    # Servers of two channels each. Channels and spacing keep the alerts under Discord's
    # limits (5 per 5 s per channel, 50 requests/s in all): this section measures latency,
    # not a saturated drain (that is the delivery section). Runs with 20 channels, or with
    # changes 0.25-0.5 s apart, queued alerts faster than Discord takes them (1,147 alerts
    # for 20 channels in 25 s; 2,445 in 50 s), and first alerts waited 30-40 s in line.
    guilds: int


QUICK = Plan(feeds=100, interval=5.0, changes=20, follows=2_000, spacing=0.5, guilds=50)
# The size: 1,000 feeds at a 60 s interval, 10,000 follows.
FULL = Plan(feeds=1_000, interval=60.0, changes=100, follows=10_000, spacing=2.0, guilds=100)


def bot_config(plan: Plan, emulator: EmulatorProcess, database_url: str, urls: list[str]) -> str:
    lines = [
        "[discord]",
        f'api_base = "{emulator.api_base}"',
        f'gateway_url = "{emulator.gateway_url}"',
        "guild_ready_timeout = 0.5",
        "[database]",
        f'url = "{database_url}"',
        "[polling]",
        f"interval_seconds = {plan.interval}",
        f"max_interval_seconds = {plan.interval}",  # no back-off for unchanged feeds
        "timeout_seconds = 10",
        "parse_workers = 2",
        # Every feed is on 127.0.0.1 here; many publishers would be many hosts.
        "per_host_concurrency = 50",
        "[search_feeds]",
        "enabled = false",
        "[alerts]",
        "max_per_window = 100000",
        "[logging]",
        'level = "WARNING"',
    ]
    for index, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "Bench {index}"', f'url = "{url}"']
    return "\n".join(lines) + "\n"


def _marker_query(headline: Headline) -> str | None:
    """Two content words of the headline (AND): a follow this item is sure to match."""
    words = [
        w
        for w in "".join(c if c.isalnum() else " " for c in headline.title).lower().split()
        if len(w) >= 4 and w.isalpha() and w not in STOPWORDS
    ]
    if not words:
        return None
    try:
        return parse_query(" ".join(words[:2]), max_chars=200, max_terms=10).normalized
    except QueryError:
        return None


async def store_follows(sessions: SessionFactory, guilds: list[EmulatedGuild], queries: list[str]) -> int:
    now = datetime.now(UTC)
    stored = 0
    async with sessions.begin() as session:
        for index, query in enumerate(queries):
            guild = guilds[index % len(guilds)]
            channel = guild.channel_ids[(index // len(guilds)) % 2]
            user = guild.member_ids[(index // (2 * len(guilds))) % len(guild.member_ids)]
            stored += await follow_repo.add_follow(
                session, guild_id=guild.guild_id, channel_id=channel, user_id=user,
                query=query, now=now,
            )  # fmt: skip
    return stored


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


def snowflake_seconds(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


@dataclass
class Alerted:
    polled_at: float  # when the poll that found the item began (its first_seen_at), epoch seconds
    sent: list[float]  # creation times of its alert messages at the emulator
    kinds: list[str]  # how each went out: alert (a new ping) or thread (later coverage)
    messages: list[int]  # the Discord message each went out in (a bundle holds several)


async def alert_times(sessions: SessionFactory, markers: dict[str, float]) -> dict[str, Alerted]:
    """The sent alerts of each changed item (by its link's marker), and when its poll began."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Item.link, Item.first_seen_at, Delivery.message_id, Delivery.sent_as)
                .join(Delivery, Delivery.item_id == Item.id)
                .where(Delivery.status == "sent", Item.link.contains("swroll="))
            )
        ).all()
    found: dict[str, Alerted] = {}
    for link, first_seen, message_id, sent_as in rows:
        marker = "swroll=" + str(link).rsplit("swroll=", 1)[1]
        if marker in markers and message_id:
            alerted = found.setdefault(marker, Alerted(first_seen.timestamp(), [], [], []))
            alerted.sent.append(snowflake_seconds(int(message_id)))
            alerted.kinds.append(str(sent_as))
            alerted.messages.append(int(message_id))
    return found


def start_bot(workdir: Path, token: str, config: str) -> subprocess.Popen[bytes]:
    path = workdir / "config.toml"
    path.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STORYWATCH_"))}
    env.update(DISCORD_TOKEN=token, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    with (workdir / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(path)],
            cwd=workdir, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def stop_bot(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return -9
    return int(process.returncode)


async def run_async(plan: Plan, workdir: Path) -> dict[str, Any]:
    headlines = load_headlines()
    server = FeedServerProcess(plan.feeds, rolling=True)
    emulator = EmulatorProcess(plan.guilds)
    bot: subprocess.Popen[bytes] | None = None
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    engine = make_engine(database_url)
    try:
        server.start()
        emulator.start()
        urls = [f"http://127.0.0.1:{server.port}/feed/{i}" for i in range(plan.feeds)]
        await upgrade(engine)
        sessions = make_session_factory(engine)
        # Every feed's future new item has a follow that matches it, whichever feeds change.
        marker_queries = [_marker_query(roll_headline(headlines, f, 1)) for f in range(plan.feeds)]
        queries = follow_texts(headlines, plan.follows, seed=20140614)
        follows = await store_follows(sessions, emulator.guilds, [q for q in marker_queries if q] + queries)
        bot = start_bot(workdir, emulator.token, bot_config(plan, emulator, database_url, urls))

        async def baselined() -> list[int]:
            if bot is not None and bot.poll() is not None:
                raise RuntimeError(f"the bot exited with {bot.returncode}")
            async with sessions() as session:
                done = await session.scalars(select(Feed.url).where(Feed.baseline_done.is_(True)))
                return sorted(int(url.rsplit("/", 1)[1]) for url in done)

        async def all_baselined() -> bool:
            return len(await baselined()) >= plan.feeds

        started = time.monotonic()
        with contextlib.suppress(TimeoutError):  # go on with the feeds that made it
            await wait_until(all_baselined, max(READY_TIMEOUT, plan.feeds * 0.5), "first polls")
        ready_seconds = time.monotonic() - started
        ready = await baselined()
        if len(ready) < plan.changes:
            raise RuntimeError(f"only {len(ready)} feeds had their first poll in {ready_seconds:.0f} s")
        # In no particular order, as news breaks. Changed in feed order, the feeds came up
        # in step with their polls (both walk the feeds in order, at different speeds), so
        # their items were found 40 at a time, 76 alerts/s for 20 s, over Discord's 50/s.
        changed = random.Random(CHANGE_SEED).sample(ready, plan.changes)
        await asyncio.sleep(plan.interval)  # into the steady state: polls are 304s now
        markers: dict[str, float] = {}
        for feed in changed:
            markers[roll_marker(feed, 1)] = await server.change_feed(feed, version=2)
            await asyncio.sleep(plan.spacing)

        async def all_alerted() -> bool:
            return len(await alert_times(sessions, markers)) == len(markers)

        timed_out = False
        try:
            await wait_until(all_alerted, plan.interval + ALERT_TIMEOUT, "the alerts")
        except TimeoutError:
            timed_out = True
        await asyncio.sleep(2.0)  # let the other channels' alerts for the same items land
        times = await alert_times(sessions, markers)
        first = [min(times[m].sent) - markers[m] for m in markers if m in times]
        last = [max(times[m].sent) - markers[m] for m in markers if m in times]
        # Where the time goes: until the poll that found the item began (the wait for the
        # feed's turn), then from there to its first alert (fetch, parse, store, send).
        polled = [times[m].polled_at - markers[m] for m in markers if m in times]
        sending = [min(times[m].sent) - times[m].polled_at for m in markers if m in times]
        alerts = sum(len(v.sent) for v in times.values())
        kinds = Counter(kind for v in times.values() for kind in v.kinds)
        messages = len({message for v in times.values() for message in v.messages})
        exit_code = stop_bot(bot)
        bot = None
        return {
            "feeds": plan.feeds,
            "interval_s": plan.interval,
            "follows": follows,
            "channels": 2 * plan.guilds,
            "changes": plan.changes,
            "alerted": len(first),
            "missing": plan.changes - len(first),
            "timed_out": timed_out,
            "alerts_sent": alerts,
            "messages": messages,
            "sent_as": dict(kinds),
            "first_poll_all_feeds_s": round(ready_seconds, 1),
            "feeds_with_first_poll": len(ready),
            "first_alert_s": _summary(first),
            "last_alert_s": _summary(last),
            "polled_s": _summary(polled),
            "poll_to_first_alert_s": _summary(sending),
            "bot_exit_code": exit_code,
        }
    finally:
        if bot is not None:
            stop_bot(bot)
        await engine.dispose()
        await server.close_control()
        server.stop()
        emulator.stop()


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-e2e-") as tmp:
        try:
            return asyncio.run(run_async(QUICK if quick else FULL, Path(tmp)))
        except Exception:
            print(bot_log_tail(Path(tmp) / "bot.log"), file=sys.stderr)
            raise


def bot_log_tail(path: Path, lines: int = 30) -> str:
    """The end of the bot's log, without SQL parameter dumps, each line cut short."""
    if not path.exists():
        return ""
    kept = [line[:300] for line in path.read_text(errors="replace").splitlines() if not line.startswith("[parameters")]
    return "\n".join(kept[-lines:])


def markdown(result: dict[str, Any]) -> str:
    first, last = result["first_alert_s"], result["last_alert_s"]
    row = [
        f"{result['feeds']:,}",
        f"{result['interval_s']:g}",
        f"{result['follows']:,} / {result['channels']}",
        f"{result['changes']}",
        f"{result['alerted']} ({result['alerts_sent']} alerts in {result['messages']:,} messages: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(result["sent_as"].items()))
        + ")",
        f"{first['p50']:.2f}",
        f"{first['p99']:.2f}",
        f"{first['max']:.2f}",
        f"{last['p50']:.2f} / {last['p99']:.2f}",
        f"{result['polled_s']['p50']:.2f} / {result['polled_s']['p99']:.2f}",
        f"{result['poll_to_first_alert_s']['p50']:.2f} / {result['poll_to_first_alert_s']['p99']:.2f}",
        f"{result['first_poll_all_feeds_s']:.1f}"
        + (
            ""
            if result["feeds_with_first_poll"] == result["feeds"]
            else f" (only {result['feeds_with_first_poll']} feeds done)"
        ),
        "yes" if result["missing"] == 0 and result["bot_exit_code"] == 0 else "NO",
    ]
    return markdown_table(
        ["feeds", "interval s", "follows / channels", "changed feeds", "alerted items", "first alert p50 s",
         "p99 s", "max s", "last alert p50 / p99 s", "poll that found it began p50 / p99 s",
         "poll start to first alert p50 / p99 s", "first poll of all feeds s",
         "checks (all alerted, clean exit)"],
        [row],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(markdown(run(args.quick)))


if __name__ == "__main__":
    main()
