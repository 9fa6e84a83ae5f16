"""The parse pool's processes, started as the running bot starts them: what they import,
and that they do not outlive a killed bot."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from tests.conftest import REPO

# What the process that polls needs and a parse process does not.
HEAVY = ["discord", "sqlalchemy", "aiohttp", "apscheduler", "alembic", "aiosqlite", "asyncpg"]

# The scripts run from the repository with nothing of this process's environment.
SCRIPT_ENV = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}

# The shape of the `storywatch` script pip writes: a spawned process runs this file first,
# as its main module, before it takes any job.
SCRIPT = """\
import sys
from bot.cli import main

if __name__ == "__main__":
    import json
    from datetime import UTC, datetime

    from bot.prepare import prepare_feed
    from bot.services import parse_pool
    from tests.support.modules import loaded

    pool = parse_pool(1)
    with open(sys.argv[1], "rb") as document:
        body = document.read()
    prepared = pool.submit(
        prepare_feed, body, url="https://example.com/feed", fetched_at=datetime.now(UTC), content_type=None
    ).result()
    names = json.loads(sys.argv[2]) + ["feedparser"]
    print(json.dumps({"rows": len(prepared.rows), "loaded": pool.submit(loaded, names).result()}))
    pool.shutdown()
"""


def test_a_parse_process_imports_none_of_the_pollers_libraries(tmp_path: Path, shared_dir: Path) -> None:
    script = tmp_path / "storywatch"
    script.write_text(SCRIPT)
    document = shared_dir / "feeds" / "real" / "bbc-news-home-rss2.xml"
    done = subprocess.run(
        [sys.executable, str(script), str(document), json.dumps(HEAVY)],
        cwd=REPO,
        env=SCRIPT_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["rows"] > 0  # the process parsed a real feed
    assert answer["loaded"] == ["feedparser"]  # and imported nothing of the poller's


# A bot process that starts both parse workers and then waits to be killed.
KILLED_SCRIPT = """\
import time
from bot.cli import main

if __name__ == "__main__":
    from bot.services import parse_pool

    pool = parse_pool(2)
    for job in [pool.submit(time.sleep, 0.5) for _ in range(2)]:  # at once: both workers start
        job.result()
    print("ready", flush=True)
    time.sleep(120)
"""


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited; reaping is init's business
    except psutil.NoSuchProcess:
        return True


def test_parse_processes_exit_when_the_bot_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "storywatch"
    script.write_text(KILLED_SCRIPT)
    with subprocess.Popen(
        [sys.executable, str(script)],
        cwd=REPO,
        env=SCRIPT_ENV,
        stdout=subprocess.PIPE,
        text=True,
    ) as bot:
        try:
            assert bot.stdout is not None and bot.stdout.readline().strip() == "ready"
            workers = [
                child for child in psutil.Process(bot.pid).children() if "spawn_main" in " ".join(child.cmdline())
            ]
            assert len(workers) == 2
            bot.kill()  # SIGKILL: no shutdown, no pool.shutdown()
            bot.wait(timeout=10)
            deadline = time.monotonic() + 15
            while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert all(_gone(w) for w in workers), "parse processes outlived the killed bot"
        finally:
            bot.kill()
